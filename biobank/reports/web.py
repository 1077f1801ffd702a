from flask import Blueprint

blp = Blueprint("reports_web", __name__)
