"""The `biobank` console script: a Flask CLI group over create_app()."""
from flask.cli import FlaskGroup

from . import create_app


def main():
    FlaskGroup(create_app=create_app, add_default_commands=True, set_debug_flag=False,
               help="Biobank sample inventory.")(prog_name="biobank")
