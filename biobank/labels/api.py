from flask_smorest import Blueprint

blp = Blueprint("labels_api", __name__, url_prefix="/api/v1", description="Labels")
