// finpilot console: the one script. Verifies the ledger from the Audit page.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("verify-button");
  const result = document.getElementById("verify-result");
  if (!button || !result) {
    return;
  }
  button.addEventListener("click", async () => {
    button.disabled = true;
    result.className = "";
    result.textContent = "Verifying…";
    try {
      // Same origin with the session cookie; the browser adds the Origin header the CSRF check wants.
      const response = await fetch("/api/v1/audit/verify", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: "{}",
      });
      const body = await response.json();
      if (!response.ok) {
        result.className = "bad";
        result.textContent = `Verification refused: ${body.message}`;
      } else if (body.ok) {
        result.className = "good";
        result.textContent =
          `Ledger verified: ${body.entries} entries, ${body.checkpoints} checkpoints, every hash and signature checks out.`;
      } else {
        const first = body.problems.length ? body.problems[0].detail : "";
        result.className = "bad";
        result.textContent = `FAILED at index ${body.first_bad_index}: ${first}`;
      }
    } catch (err) {
      result.className = "bad";
      result.textContent = `Verification could not run: ${err}`;
    } finally {
      button.disabled = false;
    }
  });
});
