"""The dashboard in a real browser: it follows the mock live, and its controls steer it."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from contracts.family.outputs import output_for
from contracts.family.pages import seed_page
from tests.browser.conftest import create_task, dashboard
from tests.conftest import API_KEY, EPOCH_MS, Receiver, RunningMock, control_for, start_mock, valid_body

HMAC_KEY = "webhook-secret"


@pytest.fixture
def signed_mock() -> Iterator[RunningMock]:
    yield from start_mock(webhook_hmac_key=HMAC_KEY)


def state_of(page: Page, task_id: str):
    return page.locator(f'#tasks tr[data-task-id="{task_id}"] .task-state')


def advance(page: Page, seconds: str) -> None:
    page.fill("#advance-seconds", seconds)
    page.click("#advance")


def test_a_new_task_appears_live_and_the_advance_button_takes_it_to_success(mock: RunningMock, page: Page) -> None:
    page.goto(dashboard(mock))
    expect(page.locator("#no-tasks")).to_be_visible()
    task_id = create_task(mock)  # through the API, after the page loaded: no reload
    expect(state_of(page, task_id)).to_have_text("waiting")
    advance(page, "120")
    expect(state_of(page, task_id)).to_have_text("success")
    assert control_for(mock).now_ms() == EPOCH_MS + 120_000  # the button moved the mock's clock
    expect(page.locator("#now")).to_have_text("2025-12-08 08:34:32.206")


def test_the_task_page_draws_the_timeline_and_plays_the_result(mock: RunningMock, page: Page) -> None:
    given = {"resolution": "720p"}
    task_id = create_task(mock, **given)
    control_for(mock).advance(120)
    page.goto(dashboard(mock, task_id))
    expect(page.locator("#task-state")).to_have_text("success")
    stages = page.locator("#timeline .stage")
    expect(stages).to_have_count(4)
    assert [stages.nth(i).get_attribute("data-state") for i in range(4)] == [
        "waiting", "queuing", "generating", "success"]
    # Measured in one step in the page: the timeline is redrawn as the page polls.
    widths = stages.evaluate_all("stages => stages.map(stage => stage.getBoundingClientRect().width)")
    timeline = control_for(mock).task(task_id)["timeline"]
    spans = [later["at"] - earlier["at"] for earlier, later in itertools.pairwise(timeline)]
    # Drawn to the clock's scale. (Plain arithmetic: pytest.approx imports numpy, which the
    # mock's render thread may be importing at this very moment.)
    assert abs(widths[2] / widths[1] - spans[2] / spans[1]) <= 0.05 * spans[2] / spans[1]

    page.wait_for_function("() => document.querySelector('#result video')?.readyState >= 2", timeout=60_000)
    size = page.locator("#result video").evaluate("video => [video.videoWidth, video.videoHeight]")
    expected = output_for(seed_page(), given)
    assert size == [expected.width, expected.height] and min(size) == 720
    record = control_for(mock).task(task_id)["record"]
    expect(page.locator("#task-record")).to_contain_text(record["resultJson"].replace('"', '\\"'))


def test_a_callback_attempt_shows_with_its_status_and_signature_and_can_be_redelivered(
        signed_mock: RunningMock, receiver: Receiver, page: Page) -> None:
    task_id = create_task(signed_mock, callback=receiver.url)
    page.goto(dashboard(signed_mock, task_id))
    expect(page.locator("#no-callbacks")).to_be_visible()
    advance(page, "120")
    rows = page.locator("#callbacks tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".result")).to_have_text("delivered")
    expect(rows.first.locator(".status")).to_have_text("200")
    signature = receiver.received[0]["headers"]["x-webhook-signature"]
    expect(rows.first).to_contain_text(signature)
    expect(rows.first).to_contain_text('{"ok":true}')  # the receiver's answer, excerpted
    page.click("#redeliver")
    expect(rows).to_have_count(2)
    expect(rows.nth(1).locator(".result")).to_have_text("delivered")
    assert len(receiver.received) == 2


def test_a_fail_outcome_queued_from_the_page_fails_the_next_task(mock: RunningMock, page: Page) -> None:
    page.goto(dashboard(mock))
    page.fill("#key", API_KEY)
    page.select_option("#queue-operation", "createTask")
    page.fill("#queue-scenario", "fail; stage=queuing")
    page.click("#queue-form button[type=submit]")
    expect(page.locator("#queued")).to_contain_text("fail")
    task_id = create_task(mock)
    expect(page.locator("#queued")).to_have_text("nothing")  # taken by that task
    advance(page, "120")
    expect(state_of(page, task_id)).to_have_text("fail")
    record = mock.client.get("/api/v1/jobs/recordInfo", params={"taskId": task_id}).json()["data"]
    assert record["state"] == "fail" and record["failCode"] == "500"


def test_a_failed_task_shows_why_and_a_planned_outcome_changes_from_its_page(mock: RunningMock, page: Page) -> None:
    task_id = create_task(mock)
    page.goto(dashboard(mock, task_id))
    expect(page.locator("#outcome")).to_have_text("success")
    page.fill("#outcome-scenario", "fail; code=501; msg=Content flagged")
    page.click("#outcome-form button[type=submit]")
    expect(page.locator("#outcome")).to_have_text("fail in generating: 501 Content flagged")
    assert control_for(mock).task(task_id)["outcome"]["fail_code"] == "501"  # the page changed the mock
    advance(page, "120")
    expect(page.locator("#task-state")).to_have_text("fail")
    expect(page.locator("#result .fail-code")).to_have_text("501")
    expect(page.locator("#result .fail-msg")).to_have_text("Content flagged")
    expect(page.locator("#result")).not_to_contain_text("No result")
    expect(page.locator("#outcome-form")).to_be_hidden()  # an ended task's outcome is history


def test_a_seeded_failure_shows_its_record_and_a_bad_outcome_names_the_problem(mock: RunningMock, page: Page) -> None:
    seeded = control_for(mock).seed_task(valid_body(), state="fail", failCode="422", failMsg="Image too small")
    page.goto(dashboard(mock, seeded))
    expect(page.locator("#result .fail-msg")).to_have_text("Image too small")
    unfinished = create_task(mock)
    page.goto(dashboard(mock, unfinished))
    page.fill("#outcome-scenario", "server-error")
    page.click("#outcome-form button[type=submit]")
    expect(page.locator("#error")).to_contain_text("applies to a call, not a task's outcome")
    expect(page.locator("#outcome")).to_have_text("success")


def test_the_switches_balance_speed_and_freeze_reach_the_mock(mock: RunningMock, page: Page) -> None:
    page.goto(dashboard(mock))
    page.fill("#key", API_KEY)
    page.click("#toggle-maintenance")
    expect(page.locator("#maintenance")).to_have_text("on")
    assert mock.client.get("/api/v1/chat/credit").json()["code"] == 455
    page.click("#toggle-maintenance")
    expect(page.locator("#maintenance")).to_have_text("off")
    page.fill("#disabled-features", "resolution=1080p")
    page.click("#toggles-form button[type=submit]")
    expect(page.locator("#features-off")).to_have_text("resolution=1080p")
    page.fill("#balance-input", "12.5")
    page.click("#balance-form button[type=submit]")
    expect(page.locator("#balance")).to_have_text("12.5")
    assert mock.client.get("/api/v1/chat/credit").json()["data"] == 12.5
    page.fill("#speed-input", "3")
    page.click("#speed-form button[type=submit]")
    expect(page.locator("#speed")).to_have_text("3")
    page.click("#freeze")
    expect(page.locator("#speed")).to_have_text("0 (frozen)")
    page.click("#freeze")  # now reads Unfreeze: back to the speed before
    expect(page.locator("#speed")).to_have_text("3")
    page.click("#reset")
    expect(page.locator("#balance")).not_to_have_text("12.5")


@pytest.mark.parametrize(("field", "value", "submit", "message"), [
    ("#balance-input", "-5", "#balance-form button[type=submit]", "balance: must be a number from 0 to 1e+15"),
    ("#balance-input", "lots", "#balance-form button[type=submit]", "balance: must be a number from 0 to 1e+15"),
    ("#advance-seconds", "-1", "#advance", "seconds: must be a number from 0 to 1e+09"),
    ("#speed-input", "fast", "#speed-form button[type=submit]", "speed: must be a number from 0 to 1e+06"),
    ("#queue-scenario", "explode", "#queue-form button[type=submit]", "scenario: unknown scenario 'explode'"),
    ("#queue-times", "0", "#queue-form button[type=submit]", "times: must be an integer from 1 to 10000"),
    ("#disabled-features", "resolution", "#toggles-form button[type=submit]",
     "disabledFeatures: must be a list of field=value strings"),
])
def test_a_bad_value_shows_the_control_apis_message_and_changes_nothing(
        mock: RunningMock, page: Page, field: str, value: str, submit: str, message: str) -> None:
    task_id = create_task(mock)
    before = mock.client.get("/__mock__/health").json()["data"], control_for(mock).task(task_id)
    page.goto(dashboard(mock))
    page.fill("#key", API_KEY)
    page.fill(field, value)
    page.click(submit)
    expect(page.locator("#error")).to_contain_text(message)
    expect(state_of(page, task_id)).to_have_text("waiting")  # the page still works
    after = mock.client.get("/__mock__/health").json()["data"], control_for(mock).task(task_id)
    assert after == before
    assert mock.client.get("/api/v1/chat/credit").json()["data"] > 0


def test_prompts_are_shown_as_text_never_run(mock: RunningMock, browser: Browser) -> None:
    # The page's content policy would block an inline script anyway: bypass it, so that this
    # test holds the page's own escaping to account.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    prompt = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"><b>bold</b>'
    task_id = create_task(mock, prompt=prompt)
    page.goto(dashboard(mock))
    expect(page.locator(f'#tasks tr[data-task-id="{task_id}"] .prompt')).to_have_text(prompt)
    page.goto(dashboard(mock, task_id))
    expect(page.locator("#task-request")).to_contain_text(prompt.replace('"', '\\"'))
    assert page.evaluate("() => window.pwned") is None
    assert page.locator("#tasks b, #task-view b, #tasks img, #task-view img").count() == 0
    context.close()


def test_the_request_journal_shows_each_call_and_filters(mock: RunningMock, page: Page) -> None:
    create_task(mock)
    mock.client.get("/api/v1/jobs/recordInfo", params={"taskId": "task_bytedance_1"})
    page.goto(dashboard(mock))
    rows = page.locator("#requests tbody tr")
    expect(rows).to_have_count(2)
    page.fill("#journal-filter", "recordinfo")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("/api/v1/jobs/recordInfo")
    expect(rows.first.locator(".code")).not_to_have_text("200")
    page.fill("#journal-filter", "")
    page.fill("#journal-code", "200")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("/api/v1/jobs/createTask")


def test_a_journal_entry_opens_to_its_request_and_answer_with_the_key_masked(mock: RunningMock, page: Page) -> None:
    task_id = create_task(mock, prompt="a lighthouse at dusk")
    mock.client.get("/api/v1/jobs/recordInfo", params={"taskId": task_id})
    page.goto(dashboard(mock))
    entries = page.locator("#requests tbody tr.entry")
    expect(entries).to_have_count(2)
    entries.nth(1).locator("button.open").click()  # the older: createTask
    exchange = page.locator("#requests tr.exchange")
    expect(exchange).to_have_count(1)
    expect(exchange.locator(".exchange-request")).to_contain_text("POST /api/v1/jobs/createTask")
    expect(exchange.locator(".exchange-request")).to_contain_text('"prompt": "a lighthouse at dusk"')
    expect(exchange.locator(".exchange-answer")).to_contain_text(task_id)
    mock.client.get("/api/v1/chat/credit")  # a poll later the entry is still open
    expect(entries).to_have_count(3)
    expect(exchange).to_have_count(1)
    assert API_KEY not in page.locator("#requests").inner_text()
    entries.nth(0).locator("button.open").click()
    expect(exchange).to_have_count(2)
    expect(exchange.first.locator(".exchange-answer")).to_contain_text('"code": 200')
    expect(exchange.first.locator(".exchange-request")).to_contain_text("(no body)")


def test_screenshots_of_the_dashboard_and_a_task_page(signed_mock: RunningMock, receiver: Receiver,
                                                      page: Page, screenshots: Path) -> None:
    control = control_for(signed_mock)
    done = create_task(signed_mock, callback=receiver.url, prompt="A paper boat drifting down a rainy street")
    control.advance(20)
    create_task(signed_mock, prompt="A lighthouse at dusk, waves crashing")
    control.queue("fail; stage=queuing; code=422; msg=Image_could_not_be_fetched")
    create_task(signed_mock, prompt="A red kite over green hills")
    control.advance(4)
    create_task(signed_mock, prompt="Timelapse of a city skyline at night")
    control.advance(30)
    page.goto(dashboard(signed_mock))
    expect(page.locator("#tasks tbody tr")).to_have_count(4)
    page.screenshot(path=screenshots / "dashboard.png", full_page=True)
    page.goto(dashboard(signed_mock, done))
    expect(page.locator("#callbacks tbody tr")).to_have_count(1)
    page.wait_for_function("() => document.querySelector('#result video')?.readyState >= 2", timeout=60_000)
    page.screenshot(path=screenshots / "task.png", full_page=True)
    for name in ("dashboard.png", "task.png"):
        assert (screenshots / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_other_models_results_preview_as_an_image_and_audio(tmp_path: Path, page: Page) -> None:
    from contracts.family.catalogue import ModelCatalogue
    from tests.mock_server.test_models import EXAMPLES, IMAGE_MODEL, audio_page

    specs = (str(EXAMPLES), str(audio_page(tmp_path)))
    pages = ModelCatalogue.load(specs).pages
    for mock in start_mock(model_specs=specs):
        image_input = {"prompt": "A lighthouse on a cliff at dawn", "aspect_ratio": "16:9"}
        image_task = create_model_task(mock, IMAGE_MODEL, image_input)
        sound_task = create_model_task(mock, "example/soundtrack", {"prompt": "Rain on a tin roof", "duration": 3})
        control_for(mock).advance(900)

        page.goto(dashboard(mock, image_task))
        expect(page.locator("#task-state")).to_have_text("success")
        page.wait_for_function("() => document.querySelector('#result img')?.complete", timeout=60_000)
        size = page.locator("#result img").evaluate("img => [img.naturalWidth, img.naturalHeight]")
        expected = output_for(pages[IMAGE_MODEL], image_input)
        assert size == [expected.width, expected.height]

        page.goto(dashboard(mock, sound_task))
        expect(page.locator("#task-state")).to_have_text("success")
        page.wait_for_function("() => document.querySelector('#result audio')?.readyState >= 1", timeout=60_000)
        assert abs(page.locator("#result audio").evaluate("audio => audio.duration") - 3) <= 0.1


def test_a_set_of_results_frames_and_a_text_result_show_on_the_task_page(mock: RunningMock, page: Page) -> None:
    images = create_model_task(mock, "wan/2-7-image", {"prompt": "three cats", "n": 3})
    frames = create_model_task(mock, "bytedance/seedance-2", {"prompt": "a boat", "resolution": "480p",
                                                             "duration": 4, "return_last_frame": True})
    text = create_model_task(mock, "omnihuman-1-5/human-identification", {"image_url": "https://example.com/a.png"})
    control_for(mock).advance(3600)
    page.goto(dashboard(mock, images))
    expect(page.locator("#result img")).to_have_count(3)
    page.goto(dashboard(mock, frames))
    expect(page.locator("#result video")).to_have_count(1)
    expect(page.locator("#result img")).to_have_count(2)  # the first and the last frame
    page.goto(dashboard(mock, text))
    expect(page.locator("#result .result-object")).to_contain_text('"model": "omnihuman-1-5/human-identification"')


def create_model_task(mock: RunningMock, model: str, given: dict) -> str:
    answer = mock.client.post("/api/v1/jobs/createTask", json={"model": model, "input": given}).json()
    assert answer["code"] == 200, answer
    return str(answer["data"]["taskId"])


def test_a_page_opened_with_the_admin_token_sends_it_on_every_control_call(page: Page) -> None:
    sent: list[str | None] = []
    page.on("request", lambda request: sent.append(request.headers.get("x-mock-admin-token"))
            if request.resource_type == "fetch" else None)  # the page's control calls
    for mock in start_mock(admin_token="s3cret"):
        page.goto(f"{mock.base_url}/__mock__/?token=s3cret")
        expect(page.locator("#now")).to_have_text("2025-12-08 08:32:32.206")
        assert sent and set(sent) == {"s3cret"}


def test_another_apis_tasks_show_live_with_their_model_state_prompt_and_results(mock: RunningMock, page: Page) -> None:
    page.goto(dashboard(mock))
    expect(page.locator("#queue-operation option[value='suno-generate']")).to_have_count(1)  # queue for any API
    suno = mock.client.post("/api/v1/generate", json={"prompt": "Rain on a tin roof", "customMode": False,
                                                      "instrumental": True, "model": "V4_5", "callBackUrl": ""})
    task_id = suno.json()["data"]["taskId"]
    row = page.locator(f'#tasks tr[data-task-id="{task_id}"]')
    expect(row).to_contain_text("suno:V4_5")
    expect(row.locator(".prompt")).to_have_text("Rain on a tin roof")
    expect(state_of(page, task_id)).to_have_text("waiting")
    advance(page, "600")
    expect(state_of(page, task_id)).to_have_text("success")
    page.goto(dashboard(mock, task_id))
    expect(page.locator("#task-state")).to_have_text("success")
    page.wait_for_function("() => document.querySelectorAll('#result audio').length === 2", timeout=60_000)
    expect(page.locator("#result img")).to_have_count(2)  # each track's cover
    expect(page.locator("#task-record")).to_contain_text('"status": "SUCCESS"')
