# expect: CWE-532 safe
import logging
from flask import Flask, request

app = Flask(__name__)
logger = logging.getLogger(__name__)


@app.route("/charge", methods=["POST"])
def charge():
    body = request.get_json()
    logger.info("charge request for merchant %s", len(body))
    return "ok"
