# expect: CWE-502 safe
import yaml
import flask

app = flask.Flask(__name__)


@app.route("/import", methods=["POST"])
def imp():
    return str(yaml.load(flask.request.get_data(), Loader=yaml.CSafeLoader))
