# expect: CWE-79 vulnerable
from flask import Flask, request, render_template
from markupsafe import Markup

app = Flask(__name__)


@app.route("/note")
def note():
    note = Markup("<em>" + request.form.get("note", "") + "</em>")
    return render_template("note.html", note=note)
