# What a canary rollout does next, from the judge's verdict and where the rollout stands.
#
# Input: {"verdict": "pass"|"fail"|"inconclusive", "enough_data": bool, "reason": str,
#         "time_up": bool, "extensions": int, "last_step": bool, "failures_before": int,
#         "policy": {"failure_limit": int, "on_fail": str, "on_no_data": str,
#                    "on_inconclusive": str, "max_extensions": int}}
# Output (data.finpilot.rollout.decision): {verdict: wait|advance|promote|extend|pause|rollback, reasons}
#
#   judgement               step time not up         step time up
#   fail (x failure_limit)  on_fail (rollback)       on_fail (rollback)
#   not enough data         wait                     on_no_data (pause)
#   inconclusive            wait                     extend up to max_extensions, then pause
#   pass                    wait                     advance (the last step: promote)
package finpilot.rollout

import rego.v1

failures := input.failures_before + 1

# The configured action for "not enough data" or "inconclusive" once the step's time is up.
fallback(action, why) := {"action": "extend", "why": sprintf("%s; window extended (%d/%d)", [why, input.extensions + 1, input.policy.max_extensions])} if {
	action == "extend"
	input.extensions < input.policy.max_extensions
} else := {"action": "pause", "why": sprintf("%s; no extension left (%d used)", [why, input.policy.max_extensions])} if {
	action == "extend"
} else := {"action": "wait", "why": why} if {
	action == "continue"
} else := {"action": "rollback", "why": why} if {
	action == "rollback"
} else := {"action": "pause", "why": why}

outcome := {"action": input.policy.on_fail, "why": sprintf("the canary failed: %s", [input.reason])} if {
	input.verdict == "fail"
	failures >= input.policy.failure_limit
} else := {"action": "wait", "why": sprintf("failed analysis %d of %d in a row: %s", [failures, input.policy.failure_limit, input.reason])} if {
	input.verdict == "fail"
} else := {"action": "wait", "why": "the step's time is not up"} if {
	not input.time_up
} else := fallback(input.policy.on_no_data, sprintf("not enough data: %s", [input.reason])) if {
	not input.enough_data
} else := fallback(input.policy.on_inconclusive, sprintf("inconclusive: %s", [input.reason])) if {
	input.verdict == "inconclusive"
} else := {"action": "promote", "why": sprintf("the last step passed: %s", [input.reason])} if {
	input.last_step
} else := {"action": "advance", "why": sprintf("the step passed: %s", [input.reason])}

decision := {"verdict": outcome.action, "reasons": [outcome.why]}
