"""The gpskb command: every command has --help and is in the README; errors are one line; the JSON contract."""
import io
import json
import subprocess
import sys

import pytest
from conftest import ROOT

from gpskb import cli, cli_commands

CONTRACT = {"question", "verdict", "answer", "citations", "rules"}
CITATION = {"clause_id", "document", "label", "text", "score"}
RULE = {"rule_id", "outcome", "clause_ids", "matched", "explanation"}


def _commands():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    out = []
    for name, p in sub.choices.items():
        nested = [a for a in p._actions if getattr(a, "choices", None) and a.dest.endswith("_command")]
        if nested:
            out += [f"{name} {n}" for n in nested[0].choices]
        else:
            out.append(name)
    return out


@pytest.fixture
def run(engine, monkeypatch, capsys):
    """Run the CLI in-process with the session's engine (no index written to the repository)."""
    monkeypatch.setattr(cli_commands, "_engine", lambda args: engine)

    def go(*argv, stdin=None):
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err
    return go


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help_and_is_in_the_readme(command, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(command.split() + ["--help"])
    assert exc.value.code == 0
    assert "usage:" in capsys.readouterr().out
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"gpskb {command}" in readme, f"`gpskb {command}` is not documented in README.md"


def test_show_prints_the_clause_with_document_and_label(run):
    code, out, _ = run("show", "caizong-2023-12/11")
    assert code == 0
    assert "财综〔2023〕12号" in out and "（十一）严禁变相用工" in out
    assert "不得将人员招、聘用，以劳务派遣方式用工，以及设置公益性岗位等事项纳入政府购买服务范围" in out


def test_unknown_clause_says_so_and_lists_near_matches(run):
    code, out, err = run("show", "caizong-2023-12/111")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "unknown clause id" in err and "caizong-2023-12/11" in err


def test_clauses_lists_ids_and_labels(run):
    code, out, _ = run("clauses")
    assert code == 0
    assert "caizong-2023-12/11\t（十一）严禁变相用工" in out and "caizong-2023-12/preamble" in out


def test_a_broken_policy_file_is_one_line_naming_file_and_field(policy_copy, capsys):
    doc = policy_copy / "documents" / "caizong-2023-12.yaml"
    doc.write_text(doc.read_text(encoding="utf-8").replace("  issuer: 财政部\n", ""), encoding="utf-8")
    code = cli.main(["--policy-dir", str(policy_copy), "clauses"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert "caizong-2023-12.yaml: document.issuer: field required" in err


def test_ask_json_honours_the_contract_for_arguments(run):
    code, out, _ = run("ask", "--json", "能否以劳务派遣方式通过政府购买服务用工？", "养老服务能通过政府购买服务提供吗？")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [x["question"] for x in lines] == ["能否以劳务派遣方式通过政府购买服务用工？", "养老服务能通过政府购买服务提供吗？"]
    first = lines[0]
    assert CONTRACT <= set(first) and first["verdict"] == "prohibited"
    assert CITATION <= set(first["citations"][0]) and first["citations"][0]["clause_id"] == "caizong-2023-12/11"
    assert first["citations"][0]["document"] == "财综〔2023〕12号"
    assert first["citations"][0]["label"] == "（十一）严禁变相用工"
    assert RULE <= set(first["rules"][0]) and "劳务派遣" in first["rules"][0]["matched"]
    assert lines[1]["verdict"] == "allowed" and lines[1]["citations"][0]["clause_id"] == "caizong-2023-12/3"


def test_ask_json_reads_stdin_and_one_bad_line_never_stops_the_batch(run):
    stdin = ("养老服务能通过政府购买服务提供吗？\n"
             "   \n"
             "？？？\n").encode() + b"\xff\xfe bad bytes\n" + ("x" * 2500 + "\n").encode() + \
        "<script>alert(1)</script>\n设置公益性岗位能不能纳入政府购买服务？\n".encode()
    code, out, _ = run("ask", "--json", stdin=stdin)
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 7
    assert lines[0]["verdict"] == "allowed"
    assert "问题为空" in lines[1]["error"]
    assert "只有标点" in lines[2]["error"]
    assert "UTF-8" in lines[3]["error"]
    assert "问题过长" in lines[4]["error"]
    assert lines[5]["verdict"] == "out_of_scope" and lines[5]["citations"] == []
    assert lines[5]["question"] == "<script>alert(1)</script>"
    assert lines[6]["verdict"] == "prohibited" and lines[6]["citations"][0]["clause_id"] == "caizong-2023-12/11"


@pytest.mark.parametrize("closed", ["none", "closed"])
def test_ask_json_with_stdin_closed_says_so(run, monkeypatch, closed):
    """`gpskb ask --json <&-`: no traceback, one line saying where the questions go (exit 2)."""
    if closed == "none":
        monkeypatch.setattr(sys, "stdin", None)
    else:
        stream = io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8")
        stream.close()
        monkeypatch.setattr(sys, "stdin", stream)
    code, out, err = run("ask", "--json")
    assert (code, out) == (2, "")
    assert "standard input is closed" in err and len(err.strip().splitlines()) == 1


def test_ask_json_applies_the_given_facts_and_refuses_unknown_ones(run):
    """--fact answers a follow-up in --json mode as it does in text mode; an unknown id is refused before any
    question is answered (exit 2, one line naming it, nothing on stdout)."""
    q = "社区想请一家机构上门照护失能老人，可以吗？"
    code, out, _ = run("ask", "--json", "--fact", "by_results", q)
    assert code == 0
    assert "by_results" in json.loads(out)["facts"]["concepts"]
    code, out, _ = run("ask", "--json", q)
    assert "by_results" not in json.loads(out)["facts"]["concepts"]
    code, out, err = run("ask", "--json", "--fact", "no_such_fact", q)
    assert code == 2 and out == ""
    assert "no_such_fact" in err and len(err.strip().splitlines()) == 1


def test_ask_for_a_person_shows_verdict_citation_and_follow_up(run):
    code, out, _ = run("ask", "机关食堂能否外包")
    assert code == 0
    assert "【需从严审核】" in out and "（八）强化项目审核" in out and "待确认" in out and "--fact by_results" in out
    code, out, _ = run("ask", "--fact", "per_head_staffing", "机关食堂能否外包")
    assert "【不得购买】" in out


def test_the_console_script_answers_from_a_cold_process():
    exe = ROOT / ".venv" / "bin" / "gpskb"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "gpskb.cli"]
    proc = subprocess.run(cmd + ["ask", "--json", "能否以劳务派遣方式通过政府购买服务用工？"], capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "GPSKB_INDEX_AUTOREBUILD": "0",
                                                       "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["verdict"] == "prohibited"
