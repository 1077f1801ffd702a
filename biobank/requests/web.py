from flask import Blueprint

blp = Blueprint("requests_web", __name__)
