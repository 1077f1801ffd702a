from flask import Blueprint

blp = Blueprint("storage_web", __name__)
