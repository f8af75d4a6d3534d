"""The question frame: what a question asks, what is bought, in which area, who buys and who provides — each with
the reader it came from and how sure that reader is — and the one stage that decides whether the knowledge base
answers it at all.

Readers, most certain first (policy/frame.yaml says which values each may set, and from which probability):
- lexicon: a term or pattern of policy/lexicon.yaml (exact words, kept for precision; negation-aware);
- gazetteer: policy/parties.yaml's organisation types, with the role the words around them give;
- classifier: gpskb.learn's calibrated classifiers over character n-grams and the e5 vector.
The frame asserts concepts for the rules: a lexicon concept as it is; a classifier value's concept from `decide_at`;
its `possible` concept (which makes the rules ask instead of guessing) from `ask_at`.

Modules: `model` (SlotFill, Frame, and what every slot's reading uses), `compose` (the frame of a question from its
readers: the facts of the case, the aspect, the area, the parties, the general test), `bought` (what is bought:
lexicon words, classifier guesses and the structural cues that back them up or overrule them), `scope` (the question
forms frame.yaml names and the scope stage).
"""
