from flask.cli import AppGroup

labels_cli = AppGroup("labels", help="Print labels.")
