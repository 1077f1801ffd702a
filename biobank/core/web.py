from flask import Blueprint

blp = Blueprint("core_web", __name__)
