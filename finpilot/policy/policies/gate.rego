# The security gate: each finding's action (fail, warn, pass) and the controls it bears on.
#
# Input: {"findings": [{fingerprint, tool, rule, cwe, severity, file, line, waived, baselined}],
#         "waivers_expired": [{id, expires}]}
# Output (data.finpilot.gate.decision): {verdict, reasons, findings: {fingerprint: {action, pci, gdpr}}}
package finpilot.gate

import rego.v1

# CWE -> PCI DSS v4.0 requirements and GDPR articles. 6.2.4 (bespoke software is built to
# prevent common attacks) applies to every code flaw; the rest name the control a flaw breaks.
controls := {
	"CWE-89": {"pci": ["6.2.4"], "gdpr": ["Art. 32"]},
	"CWE-78": {"pci": ["6.2.4"], "gdpr": ["Art. 32"]},
	"CWE-79": {"pci": ["6.2.4", "6.4.1"], "gdpr": ["Art. 32"]},
	"CWE-22": {"pci": ["6.2.4"], "gdpr": ["Art. 32"]},
	"CWE-94": {"pci": ["6.2.4"], "gdpr": ["Art. 32"]},
	"CWE-502": {"pci": ["6.2.4"], "gdpr": ["Art. 32"]},
	"CWE-611": {"pci": ["6.2.4"], "gdpr": ["Art. 32"]},
	"CWE-918": {"pci": ["6.2.4"], "gdpr": ["Art. 32"]},
	"CWE-798": {"pci": ["6.2.4", "8.3.1", "8.6.2"], "gdpr": ["Art. 32"]},
	"CWE-259": {"pci": ["6.2.4", "8.3.1", "8.6.2"], "gdpr": ["Art. 32"]},
	"CWE-321": {"pci": ["6.2.4", "3.5.1", "3.6.1", "8.6.2"], "gdpr": ["Art. 32"]},
	"CWE-312": {"pci": ["3.5.1"], "gdpr": ["Art. 25", "Art. 32"]},
	"CWE-532": {"pci": ["3.3.1", "3.5.1", "10.3.1"], "gdpr": ["Art. 25", "Art. 32"]},
	"CWE-359": {"pci": ["3.5.1", "10.3.1"], "gdpr": ["Art. 25", "Art. 32"]},
	"CWE-295": {"pci": ["4.2.1"], "gdpr": ["Art. 32"]},
	"CWE-297": {"pci": ["4.2.1"], "gdpr": ["Art. 32"]},
	"CWE-319": {"pci": ["4.2.1"], "gdpr": ["Art. 32"]},
	"CWE-326": {"pci": ["3.5.1", "4.2.1"], "gdpr": ["Art. 32"]},
	"CWE-327": {"pci": ["3.5.1", "4.2.1"], "gdpr": ["Art. 32"]},
	"CWE-328": {"pci": ["3.5.1"], "gdpr": ["Art. 32"]},
	"CWE-330": {"pci": ["3.6.1", "6.2.4"], "gdpr": ["Art. 32"]},
	"CWE-681": {"pci": ["6.2.4"], "gdpr": []},
	"CWE-1339": {"pci": ["6.2.4"], "gdpr": []},
	"CWE-1104": {"pci": ["6.3.2", "6.3.3"], "gdpr": ["Art. 32"]},
	"CWE-1395": {"pci": ["6.3.1", "6.3.2", "6.3.3"], "gdpr": ["Art. 32"]},
}

# Where a finding names no CWE we know, its tool says which control family it belongs to.
tool_controls := {
	"deps": {"pci": ["6.3.1", "6.3.3"], "gdpr": ["Art. 32"]},
	"checkov": {"pci": ["2.2.1"], "gdpr": ["Art. 32"]},
	"detect-secrets": {"pci": ["8.6.2"], "gdpr": ["Art. 32"]},
}

default_controls := {"pci": ["6.2.4"], "gdpr": []}

# Classes a payments service must never ship, whatever severity a scanner gave them.
blocking := {"CWE-89", "CWE-78", "CWE-798", "CWE-259", "CWE-321", "CWE-532", "CWE-359", "CWE-295", "CWE-297", "CWE-681", "CWE-1339"}

rank := {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}

controls_for(f) := controls[f.cwe] if {
	controls[f.cwe]
} else := tool_controls[f.tool] if {
	tool_controls[f.tool]
} else := default_controls

action(f) := "pass" if {
	f.waived
} else := "pass" if {
	f.baselined
} else := "fail" if {
	blocking[f.cwe]
} else := "fail" if {
	rank[f.severity] >= 3
} else := "warn" if {
	rank[f.severity] == 2
} else := "pass"

mapped[f.fingerprint] := {"action": action(f), "pci": c.pci, "gdpr": c.gdpr} if {
	some f in input.findings
	c := controls_for(f)
}

failing contains sprintf("%s %s (%s) at %s:%d", [f.tool, f.rule, f.severity, f.file, f.line]) if {
	some f in input.findings
	action(f) == "fail"
}

warning contains sprintf("%s %s (%s) at %s:%d", [f.tool, f.rule, f.severity, f.file, f.line]) if {
	some f in input.findings
	action(f) == "warn"
}

expired contains sprintf("waiver %s expired on %s", [w.id, w.expires]) if {
	some w in input.waivers_expired
}

verdict := "fail" if {
	count(failing) + count(expired) > 0
} else := "warn" if {
	count(warning) > 0
} else := "pass"

# A comprehension rather than array.concat: rego-cpp 1.5 answers undefined for an empty operand.
reasons := [r |
	some part in [sort(expired), sort(failing), sort(warning)]
	some r in part
]

decision := {"verdict": verdict, "reasons": reasons, "findings": mapped}
