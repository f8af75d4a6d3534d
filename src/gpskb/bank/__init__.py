"""Trainers' question banks (题库): read a CSV or Excel bank of 判断/单选/多选 items with their answer keys, ask gpskb
about every item, and list where gpskb's reading and the key disagree — a trainer's check of the bank and of the
product at once.

An item becomes statements gpskb can judge (policy/exam.yaml says how): a 判断题 is its stem; each option of a
choice question is the stem with the option in its blank. A statement claims that something may be done, or that it
may not (不得作为…、不属于…); gpskb's verdict on it says whether the claim holds (allowed/conditional: it may;
prohibited: it may not; no_rule/out_of_scope: undecided). Reading a bank is all or nothing: any bad row refuses the
whole file with every problem listed by row and column, so nothing is half-imported.

Modules: `items` (BankItem, BankError, the reports), `files` (a CSV or .xlsx file read into items: parse),
`statements` (items turned into statements and what each claims), `checking` (gpskb asked about every statement:
check). The names the app and the CLI use are importable from gpskb.bank itself.
"""
from .checking import check
from .files import parse
from .items import TRUTH_LABEL, BankError, BankItem, BankReport, ItemCheck, StatementCheck

__all__ = ["TRUTH_LABEL", "BankError", "BankItem", "BankReport", "ItemCheck", "StatementCheck", "check", "parse"]
