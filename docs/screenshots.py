"""The README's screenshots: `menjin demo` on free ports in a scratch data directory, driven by headless
Debian Chromium at phone size (the browser tests' own `phone_page`), one PNG per row of `SHOTS` in
docs/screens/, palette-reduced with Pillow so each stays small.

    .venv/bin/python -m docs.screenshots

Pages that do not exist yet (answer 404) are skipped and named, so rows can be added ahead of them.
The demo's one-time passwords are read from its banner and changed at first sign-in, as a person would.
"""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image
from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the browser tests' page helper, so both launch Chromium alike
from test_browser import phone_page  # noqa: E402

OUT = ROOT / "docs" / "screens"
MENJIN = Path(sys.executable).with_name("menjin")
NEW_PASSWORD = "Harbin-screens-2026"
COLOURS = 64  # the pages are flat colours and text: a small palette loses nothing
BUDGET = 150_000  # bytes a README picture may take


@dataclass
class Demo:
    """The running demo: its address, the one-time passwords it printed, and ids the paths need."""

    url: str
    passwords: dict[str, str]
    ids: dict[str, str]
    signed_in: str | None = None

    def sign_in(self, page: Page, username: str | None) -> None:
        """Become `username` (None: nobody), changing a one-time password on first use."""
        if username == self.signed_in:
            return
        page.context.clear_cookies()
        self.signed_in = username
        if username is None:
            return
        page.goto(f"{self.url}/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(self.passwords[username])
        page.get_by_role("button", name="登录").click()
        if page.url.endswith("/password"):
            page.get_by_label("原密码").fill(self.passwords[username])
            page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
            page.get_by_label("再次输入新密码").fill(NEW_PASSWORD)
            page.get_by_role("button", name="保存新密码").click()
            self.passwords[username] = NEW_PASSWORD
        page.wait_for_url(f"{self.url}/")


def issue_code(page: Page, demo: Demo) -> None:
    page.get_by_role("button", name="发放邀请码").click()
    demo.ids["code"] = page.locator("#invitation-code").inner_text()


def type_code(page: Page, demo: Demo) -> None:
    page.get_by_label("邀请码").fill(demo.ids["code"])
    page.get_by_label("用户名").fill("wang.jianguo")


def open_pass(page: Page, demo: Demo) -> None:
    page.get_by_role("button", name="开通二维码通行证").click()
    expect(page.locator("#qr-pass")).to_be_visible()


def decline(page: Page, demo: Demo) -> None:
    page.get_by_role("button", name="不使用人脸识别").click()


def enrol_and_withdraw(page: Page, demo: Demo) -> None:
    """Change of mind: consent, three photos from the shared set (if there), then withdraw."""
    from menjin.sim import faces

    page.goto(f"{demo.url}/face/{demo.ids['me']}/consent")
    page.get_by_label("我已阅读并同意以上内容").check()
    page.get_by_role("button", name="同意", exact=True).click()
    if faces.PHOTOS.is_dir():
        photos = faces.frames(faces.volunteers(1)[0])[:3]
        page.get_by_label("正面照片（3–5 张）").set_input_files([str(p) for p in photos])
        page.get_by_role("button", name="上传并开通").click()
        expect(page.get_by_role("status")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="撤回同意并删除数据").click()
    expect(page.get_by_role("heading", name="人脸数据删除凭证")).to_be_visible()


def issue_pass(page: Page, demo: Demo) -> None:
    """A courier pass with the form's defaults (QR, two hours, once at each of her gates)."""
    page.get_by_label("备注（可不填）").fill("顺丰")
    page.get_by_role("button", name="发放").click()
    expect(page.locator("#guest-qr")).to_be_visible()
    demo.ids["card"] = urlsplit(page.locator("#share-link").get_attribute("href") or "").path


def act_out(page: Page, demo: Demo, gate: str, action: str) -> None:
    """Press one of the live page's demo buttons for a simulated gate."""
    page.goto(f"{demo.url}/live")
    page.locator("#sim-gate").select_option(gate)
    page.locator(f'button[name="action"][value="{action}"]').click()


def snowstorm(page: Page, demo: Demo) -> None:
    """Cold and fog at the south gate: it falls back by itself; the board shows it after a heartbeat."""
    act_out(page, demo, "S1", "snowstorm")
    time.sleep(12)
    page.goto(f"{demo.url}/live")


def propped(page: Page, demo: Demo) -> None:
    """The north gate propped open with snow: the held-open alarm comes after 30 s and repeats."""
    act_out(page, demo, "N1", "prop")
    time.sleep(35)
    page.goto(f"{demo.url}/alarms")


def fire(page: Page, demo: Demo) -> None:
    act_out(page, demo, "S1", "fire")
    time.sleep(3)
    page.goto(f"{demo.url}/emergency")


def responder(page: Page, demo: Demo) -> None:
    page.locator("#responder-label").fill("120 急救车")
    page.locator("#responder-reason").fill("1-1-101 老人在院内摔倒")
    page.locator("form[action='/emergency/responder'] button[type=submit]").click()


@dataclass(frozen=True)
class Shot:
    name: str  # docs/screens/<name>.png
    path: str  # formatted with `Demo.ids`
    user: str | None  # signed in as: "admin", "resident" or nobody
    then: Callable[[Page, Demo], None] | None = None  # what to do on the page before the picture
    whole: bool = True  # the whole page, or what a phone shows first (long pages of tables)


SHOTS = [  # in this order: each row may rely on the ones before it
    Shot("gate-notice", "/notice/{community}/S1", None),
    Shot("invitation-office", "/residents/{family}/invitation", "admin", issue_code),
    Shot("invitation-first-login", "/invite", None, type_code),
    Shot("portal-home", "/", "resident"),
    Shot("portal-pin", "/pin", "resident"),
    Shot("portal-pass", "/pass", "resident", open_pass),
    Shot("face-consent", "/face/{me}/consent", "resident"),
    Shot("face-declined", "/face/{me}", "resident", decline),
    Shot("face-receipt", "/face/{me}", "resident", enrol_and_withdraw),
    Shot("courier-pass-share", "/passes", "resident", issue_pass),
    Shot("courier-pass-card", "{card}", None),
    Shot("courier-passes", "/passes", "resident"),
    Shot("visit-request", "/visit/{community}/S1", None),
    Shot("visits", "/visits", "resident"),
    Shot("my-history", "/me/history", "resident"),
    Shot("my-reads", "/me/reads", "resident"),
    Shot("my-corrections", "/me/corrections", "resident"),
    Shot("office-corrections", "/corrections", "admin"),
    # the control room: what `make demo` shows when a visitor plays snowstorm, propped gate and fire
    Shot("control-snowstorm", "/live", "admin", snowstorm),
    Shot("control-propped", "/live", "admin", propped),
    Shot("control-fire", "/live", "admin", fire),
    Shot("control-responder", "/emergency", "admin", responder),
    Shot("fault-report", "/fault/{community}/S1", None),
    Shot("tickets", "/tickets", "admin"),
    Shot("reports", "/reports", "admin", whole=False),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_demo(data_dir: Path) -> tuple[subprocess.Popen[bytes], Demo]:
    """`menjin demo` in the background, its output to a log file (a pipe nobody reads would stall it);
    returns once it serves, with the one-time passwords its banner printed."""
    port = free_port()
    command = [str(MENJIN), "demo", "--port", str(port), "--broker-port", str(free_port())]
    env = {**os.environ, "COLUMNS": "200", "MENJIN_DATA_DIR": str(data_dir)}
    log = data_dir / "demo.log"
    with log.open("wb") as sink:
        demo = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # the first run enrols the demo's faces before serving
    while True:
        try:
            urllib.request.urlopen(f"{url}/login", timeout=2)
            break
        except OSError:
            if demo.poll() is not None or time.monotonic() > deadline:
                demo.kill()
                raise RuntimeError(f"menjin demo did not start:\n{log.read_text()}") from None
            time.sleep(0.5)
    passwords = dict(re.findall(r"one-time password for (\w+): (\S+)", log.read_text()))
    return demo, Demo(url, passwords, _ids(data_dir))


def _ids(data_dir: Path) -> dict[str, str]:
    """The demo resident, another of her household (without an account) and the community code."""
    from sqlalchemy import select

    from menjin.config import Settings
    from menjin.services import Services
    from menjin.sim.sample import CODE, RESIDENTS
    from menjin.store.tables import Person

    svc = Services.open(Settings.from_env(data_dir))
    try:
        with svc.db.transaction() as s:
            me, family = (s.scalar(select(Person.id).where(Person.name == r[3])) for r in RESIDENTS[:2])
    finally:
        svc.close()
    return {"me": str(me), "family": str(family), "community": CODE}


def save(png: bytes, target: Path) -> int:
    """The screenshot as an optimised palette PNG, scaled down until it fits `BUDGET` (only very long
    pages need that); returns its size in bytes."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    while True:
        image.quantize(COLOURS, dither=Image.Dither.NONE).save(target, optimize=True)
        if target.stat().st_size <= BUDGET:
            return target.stat().st_size
        image = image.resize((image.width * 3 // 4, image.height * 3 // 4), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="menjin-screens-") as tmp:
        process, demo = start_demo(Path(tmp))
        try:
            with phone_page() as page:
                for shot in SHOTS:
                    demo.sign_in(page, shot.user)
                    response = page.goto(demo.url + shot.path.format(**demo.ids))
                    if response is None or response.status == 404:
                        print(f"skipped {shot.name}: {shot.path} does not exist yet")
                        continue
                    if shot.then is not None:
                        shot.then(page, demo)
                    size = save(page.screenshot(full_page=shot.whole), OUT / f"{shot.name}.png")
                    print(f"docs/screens/{shot.name}.png  {size // 1024} KB")
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
