# expect: CWE-22 safe
from flask import Flask, request, abort

app = Flask(__name__)


@app.route("/invoice")
def invoice():
    number = int(request.args.get("n", "0"))
    with open("/srv/invoices/%08d.pdf" % number, "rb") as fh:
        return fh.read()
