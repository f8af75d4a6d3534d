"""Reading a question's words: the lexicon reader and what it is made of.

- `reader`: Reader, which turns a question into Facts (spaCy blank zh + a PhraseMatcher over policy/lexicon.yaml);
- `facts`: Mention and Facts, what a question says;
- `negation`: whether words are denied (language.yaml cues and windows);
- `typos`: terms typed with homophone slips or inserted characters;
- `pinyin`: the pinyin readings stored with the index, and Chinese words typed in pinyin;
- `quantities`: concepts set by numbers (durations, date ranges, renewals);
- `topics`: words talked about rather than said (language.yaml `mentions`).
"""
