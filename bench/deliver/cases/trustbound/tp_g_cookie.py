# expect: CWE-501 vulnerable
import flask

app = flask.Flask(__name__)


@app.before_request
def load_tenant():
    flask.g.tenant = flask.request.cookies.get("tenant")
