"""The app in a real browser: `streamlit run app.py` as a subprocess, driven with Playwright on Debian's chromium.

Never `playwright install` (it downloads a browser): `make test` installs chromium and fonts-noto-cjk with apt. Without
/usr/bin/chromium this test FAILS (it does not skip), so a missing browser cannot pass unnoticed.

It also measures, and writes to artifacts/browser-timings.json: server start → page drawn (the question box visible),
→ knowledge base loaded, and Enter → verdict on screen for a first and a second question.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import stop_process

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
QUESTION = "能否以劳务派遣方式通过政府购买服务用工？"
SECOND = "机关食堂能否外包？"
# a two-item bank whose second key is wrong (labour dispatch is prohibited by notice item 11)
BANK_CSV = ("题型,题干,选项A,选项B,选项C,选项D,答案\n"
            "判断,公益一类事业单位不得作为政府购买服务的承接主体。,,,,,对\n"
            "判断,政府购买服务可以采用劳务派遣的方式为机关补充人手。,,,,,对\n")

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(proc: subprocess.Popen, url: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    pytest.fail(f"streamlit did not serve {url} within {timeout} s:\n{log.read_text(errors='replace')}")


def test_ask_in_a_real_browser(tmp_path):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} not found: the browser test needs Debian's chromium and fonts-noto-cjk "
                    "(`make test` installs them; by hand: apt-get install chromium fonts-noto-cjk). "
                    "Never `playwright install`.")
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "browser-ask.png"
    shot.unlink(missing_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "streamlit.log"
    env = dict(os.environ, GPSKB_STORE=str(tmp_path / "store.sqlite3"), HF_HUB_OFFLINE="1", GPSKB_ADMIN_TOKEN="管理口令",
               STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
               # no file watcher: it has nothing to do in a test, and on a busy checkout its inotify queue overflows
               STREAMLIT_SERVER_FILE_WATCHER_TYPE="none")
    timings: dict[str, float] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        proc = None
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 2200}, locale="zh-CN")
            with log.open("wb") as out:
                t0 = time.monotonic()
                proc = subprocess.Popen(
                    [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                     "--server.port", str(port), "--server.address", "127.0.0.1"],
                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
                wait_until_serving(proc, url, log)
                timings["server_serving_s"] = time.monotonic() - t0
                page.goto(url + "/")
                box = page.get_by_placeholder("能否以劳务派遣方式", exact=False)
                expect(box).to_be_visible(timeout=60_000)
                timings["page_drawn_s"] = time.monotonic() - t0
                expect(page.get_by_text("知识库收录", exact=False)).to_be_visible(timeout=60_000)
                timings["knowledge_base_ready_s"] = time.monotonic() - t0

                box.fill(QUESTION)
                # Streamlit's own English hint under the box is hidden: the page says 按回车 itself
                expect(page.get_by_text("Press Enter", exact=False)).to_be_hidden()
                t1 = time.monotonic()
                box.press("Enter")
                # wait_for_selector watches the DOM (expect() polls with growing pauses: no good for timing)
                page.wait_for_selector('[data-verdict="prohibited"]', timeout=30_000)
                timings["first_answer_after_enter_s"] = time.monotonic() - t1
                badge = page.locator('[data-verdict="prohibited"] .gp-badge')
                expect(badge).to_contain_text("不得购买")
                first = page.locator(".gp-cite").first
                expect(first.locator(".gp-cite-label")).to_have_text("（十一）严禁变相用工")
                expect(first.locator(".gp-cite-text")).to_contain_text("不得将人员招、聘用，以劳务派遣方式用工")
                expect(first.locator("a.gp-cite-link")).to_have_attribute("href", "browse?clause=caizong-2023-12/11")

                box.fill(SECOND)
                t2 = time.monotonic()
                box.press("Enter")
                page.wait_for_selector('[data-verdict="conditional"]', timeout=30_000)
                timings["second_answer_after_enter_s"] = time.monotonic() - t2
                expect(page.locator('[data-verdict="conditional"] .gp-badge')).to_contain_text("需从严审核")

                box.fill(QUESTION)
                box.press("Enter")
                expect(badge).to_contain_text("不得购买", timeout=30_000)
                cites = page.get_by_text("引用条款", exact=True)
                expect(cites).to_have_count(1, timeout=30_000)  # Streamlit may still show the last answer's section
                # …and on a busy machine may draw it once more while it settles: the count must hold, then one is shown
                page.wait_for_timeout(500)
                expect(cites).to_have_count(1, timeout=30_000)
                expect(cites.first).to_be_visible()
                page.wait_for_timeout(500)  # let the last elements settle before the screenshot
                page.screenshot(path=str(shot))

                # a trainer uploads a bank (a real file through the browser's file input) and checks it
                bank = tmp_path / "题库.csv"
                bank.write_bytes(BANK_CSV.encode("utf-8-sig"))
                page.goto(url + "/training")
                page.get_by_text("题库核对", exact=True).click()
                page.get_by_placeholder("姓名或账号").fill("王老师")
                page.get_by_placeholder("姓名或账号").press("Enter")
                page.locator('input[type="file"]').set_input_files(str(bank))
                # the upload has reached the server (its name is listed) before 导入 is pressed: on a busy machine a
                # click that comes first imports nothing
                expect(page.get_by_text("题库.csv")).to_be_visible(timeout=60_000)
                page.get_by_role("button", name="导入").click()
                expect(page.get_by_text("共 2 题", exact=False)).to_be_visible(timeout=60_000)
                page.get_by_role("button", name="逐题核对").click()
                page.wait_for_selector('[data-bank-row="3"][data-agrees="false"]', timeout=60_000, state="attached")
                expect(page.get_by_text("与答案一致", exact=True)).to_be_visible()

                # 管理/缺口 shows nothing from the store until the password is given
                page.goto(url + "/admin")
                password = page.get_by_label("管理密码")
                expect(password).to_be_visible(timeout=30_000)
                expect(page.get_by_text("缺口清单")).to_have_count(0)
                password.fill("猜一个")
                page.get_by_role("button", name="登录").click()
                expect(page.get_by_text("密码不正确")).to_be_visible(timeout=30_000)
                expect(page.get_by_text("缺口清单")).to_have_count(0)
                page.get_by_label("管理密码").fill("管理口令")
                page.get_by_role("button", name="登录").click()
                expect(page.get_by_text("缺口清单")).to_be_visible(timeout=30_000)
        finally:
            browser.close()
            if proc is not None:
                stop_process(proc, 10)
    assert shot.exists() and shot.stat().st_size > 10_000
    (ARTIFACTS / "browser-timings.json").write_text(json.dumps({k: round(v, 3) for k, v in timings.items()},
                                                              indent=2) + "\n")
    print("timings:", json.dumps({k: round(v, 3) for k, v in timings.items()}))
