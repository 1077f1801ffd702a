from flask import Blueprint

blp = Blueprint("custody_web", __name__)
