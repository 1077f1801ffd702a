from flask import Blueprint

blp = Blueprint("samples_web", __name__)
