# A canary step's action from the judge's verdict and where the rollout stands.
#
# Input: {"judgement": "pass"|"fail"|"inconclusive", "step": int, "steps": int,
#         "inconclusive_in_a_row": int, "max_inconclusive": int}
# Output (data.finpilot.rollout.decision): {verdict: promote|advance|hold|rollback, reasons}
package finpilot.rollout

import rego.v1

verdict := "rollback" if {
	input.judgement == "fail"
} else := "rollback" if {
	input.judgement == "inconclusive"
	input.inconclusive_in_a_row >= input.max_inconclusive
} else := "hold" if {
	input.judgement == "inconclusive"
} else := "promote" if {
	input.step + 1 >= input.steps
} else := "advance"

reasons := [sprintf("judge said %s at step %d of %d", [input.judgement, input.step + 1, input.steps])]

decision := {"verdict": verdict, "reasons": reasons}
