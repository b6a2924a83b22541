# expect: CWE-532 vulnerable
import logging
from flask import Flask, request

app = Flask(__name__)
logger = logging.getLogger(__name__)


@app.route("/charge", methods=["POST"])
def charge():
    logger.info("charge request: %s", request.get_json())
    return "ok"
