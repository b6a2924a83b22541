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

// The Fraud page: refresh from /api/v1/fraud/summary every few seconds; freeze and unfreeze accounts.
document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("fraud-page");
  if (!root) {
    return;
  }
  const canFreeze = root.dataset.canFreeze === "true";
  const result = document.getElementById("fraud-action-result");
  const form = document.getElementById("freeze-form");
  const text = (id, value) => {
    const el = document.getElementById(id);
    if (el) {
      el.textContent = value;
    }
  };
  const fillRows = (id, rows, cells) => {
    const body = document.querySelector(`#${id} tbody`);
    if (!body) {
      return;
    }
    body.replaceChildren(
      ...rows.map((row) => {
        const tr = document.createElement("tr");
        for (const cell of cells(row)) {
          const td = document.createElement("td");
          if (cell instanceof Node) {
            td.append(cell);
          } else {
            td.textContent = cell === null || cell === undefined ? "" : String(cell);
          }
          tr.append(td);
        }
        return tr;
      }),
    );
  };
  const drawChart = (perMinute) => {
    const svg = document.getElementById("per-minute");
    if (!svg) {
      return;
    }
    const [w, h] = svg.getAttribute("viewBox").split(" ").slice(2).map(Number);
    const peak = Math.max(1, ...perMinute.map((row) => row.total));
    const width = w / Math.max(perMinute.length, 1);
    const rects = [];
    perMinute.forEach((row, i) => {
      let base = h;
      for (const [part, count] of [
        ["approve", row.approve],
        ["review", row.review],
        ["decline", row.decline + row.freeze_account],
      ]) {
        if (!count) {
          continue;
        }
        const height = (count / peak) * h;
        base -= height;
        const rect = document.createElementNS(svg.namespaceURI, "rect");
        rect.setAttribute("class", `bar-${part}`);
        rect.setAttribute("x", (i * width).toFixed(2));
        rect.setAttribute("y", base.toFixed(2));
        rect.setAttribute("width", Math.max(width - 1, 1).toFixed(2));
        rect.setAttribute("height", height.toFixed(2));
        const title = document.createElementNS(svg.namespaceURI, "title");
        title.textContent = `${row.minute.slice(11, 16)} UTC: ${count} ${part}`;
        rect.append(title);
        rects.push(rect);
      }
    });
    svg.replaceChildren(...rects);
  };
  const unfreezeButton = (customer) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "unfreeze-button";
    button.dataset.customer = customer;
    button.textContent = "Unfreeze";
    return button;
  };
  const show = (summary) => {
    const stats = summary.stats;
    if (stats) {
      text("fraud-updated", stats.now);
      text("decisions-total", stats.decisions);
      text("decisions-per-minute", stats.decisions_per_minute);
      text("decisions-last-minute", stats.last_minute);
      text("decline-rate", stats.decline_rate === null ? "–" : `${(stats.decline_rate * 100).toFixed(2)} %`);
      text("labels", `${stats.labels.fraud} / ${stats.labels.legitimate}`);
      drawChart(stats.per_minute);
      fillRows("top-reasons", stats.top_reasons, (r) => [r.reason, r.count]);
      fillRows("model-versions", stats.model_versions, (r) => [r.version, r.decisions, r.last_seen]);
      fillRows("frozen-accounts", stats.frozen_accounts, (r) => [
        r.customer_id,
        r.since,
        r.reason,
        r.audit_index,
        canFreeze ? unfreezeButton(r.customer_id) : "",
      ]);
    }
    // Drift is drawn by the server (#drift, data-refresh-ms): a table and an SVG chart, not JSON.
    if (summary.alerts) {
      fillRows("alerts", summary.alerts.recent, (r) => [
        r.time,
        r.kind,
        r.account,
        r.severity,
        r.repeats,
        r.reasons.join("; "),
        r.audit_index,
      ]);
    }
  };
  const refresh = async () => {
    try {
      const response = await fetch("/api/v1/fraud/summary", { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) {
        show(await response.json());
      }
    } catch (err) {
      // The next tick tries again; a console restart should not leave a dead page.
    }
  };
  const act = async (customer, action, reason) => {
    result.className = "";
    result.textContent = `${action === "freeze" ? "Freezing" : "Unfreezing"} ${customer}…`;
    try {
      const response = await fetch(`/api/v1/fraud/accounts/${encodeURIComponent(customer)}/${action}`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(reason ? { reason } : {}),
      });
      const body = await response.json();
      if (response.ok) {
        result.className = "good";
        result.textContent = `${customer} ${body.frozen ? "frozen" : "unfrozen"} (audit entry ${body.audit_index}).`;
        if (form && action === "freeze") {
          form.reset();
        }
      } else {
        result.className = "bad";
        result.textContent = `Refused: ${body.message}`;
      }
    } catch (err) {
      result.className = "bad";
      result.textContent = `Could not ${action}: ${err}`;
    }
    await refresh();
  };
  root.addEventListener("click", (event) => {
    const button = event.target.closest(".unfreeze-button");
    if (button) {
      act(button.dataset.customer, "unfreeze", "");
    }
  });
  if (form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const customer = document.getElementById("freeze-customer").value.trim();
      if (customer) {
        act(customer, "freeze", document.getElementById("freeze-reason").value.trim());
      }
    });
  }
  setInterval(refresh, 3000);
});

// Server-drawn pages that refresh themselves (Runtime, Incidents): fetch this very page again and
// swap in the fresh copy of the element marked data-refresh-ms. The server stays the only renderer;
// DOMParser never runs scripts, and a page that is no longer ours (a login form) is left alone.
document.addEventListener("DOMContentLoaded", () => {
  for (const root of document.querySelectorAll("[data-refresh-ms]")) {
    const every = Number(root.dataset.refreshMs);
    if (!root.id || !(every > 0)) {
      continue;
    }
    const refresh = async () => {
      if (document.hidden) {
        return;
      }
      try {
        const response = await fetch(window.location.pathname + window.location.search, {
          credentials: "same-origin",
          headers: { Accept: "text/html" },
        });
        if (!response.ok) {
          return;
        }
        const fresh = new DOMParser().parseFromString(await response.text(), "text/html").getElementById(root.id);
        if (fresh) {
          root.replaceChildren(...Array.from(fresh.childNodes, (node) => document.importNode(node, true)));
        }
      } catch (err) {
        // The next tick tries again; a console restart should not leave a dead page.
      }
    };
    setInterval(refresh, every);
  }
});
