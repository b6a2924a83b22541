# expect: CWE-79 vulnerable
from flask import Flask, request, render_template_string

app = Flask(__name__)


@app.route("/greet")
def greet():
    who = request.headers.get("X-User", "guest")
    return render_template_string("<p>Welcome back, " + who + "</p>")
