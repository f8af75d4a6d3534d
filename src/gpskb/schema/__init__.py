"""pydantic models of the policy files and of the evaluation question files, one module per group of files.

Two kinds. The files that hold the texts and the rules (`texts`: documents/*.yaml, rules/*.yaml, training.yaml, the
question files; `language`: lexicon.yaml, language.yaml, retrieval.yaml) are checked for shape only — types, required
fields, known keys, choices, id syntax — by `check.check`, and loaded as read: what refers to what (a rule's clause
exists, its quote is verbatim, a concept is known) is checked by gpskb.policy once everything is read. The files that
describe reading (`frame`: frame.yaml and examples.yaml; `parties`; `wording`; `exam`) are validated into the models
themselves by `check.validated`. Either way the first problem is a PolicyError naming the file and the field in the
loader's own words (`policy/documents/caizong-2023-12.yaml: clauses[12].text: field required`). `fields` holds the
field types and base models they share.
"""
