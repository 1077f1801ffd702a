from flask import Blueprint

blp = Blueprint("labels_web", __name__)
