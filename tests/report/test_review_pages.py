"""The same renderer and the student's own outputs in the review app: a real `grader review` process on a
real gradebook, its pages in Chromium (Playwright), under the app's own content policy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import nbformat
import pytest

from graders.gradebook import record_run
from graders.gradebook.store import Gradebook, ManualEntry
from graders.report.outputs import OUTPUTS_NAME, keep_own_outputs
from graders.report.render import publish
from graders.results import DerivationAnswer, FreeTextAnswer
from tests.browser import chromium
from tests.provenance import provenance
from tests.report.test_outputs import SHA, TAGS, answer, b64, code, figure_png, image_output, notebook
from tests.report.test_render import SCRIPT, result
from tests.review.conftest import Server, start_review

pytestmark = pytest.mark.browser

OBSERVE = r"At weight 30 each $q(z \mid x)$ is close to $\mathcal{N}(0, I)$; **blurry**. " + SCRIPT
COMMENT = r"Good: the prior is $p(z) = \mathcal{N}(0, I)$, *say why* too."
REASON = r"Accepted: $\sqrt{\bar\alpha_3}\,x_0$ in other notation. <img src=x onerror=alert(1)>"
ANN = replace(
    result("ann", {"derivation.mu": ("missing_sqrt",)}),
    sha256=SHA,
    derivation=(DerivationAnswer("mu", r"\bar\alpha_3 x_0"), DerivationAnswer("Sigma", r"1 - \bar\alpha_3")),
    free_text=(
        FreeTextAnswer("What do you observe?", OBSERVE),
        FreeTextAnswer("How can these results be explained?", "Trade-off."),
        FreeTextAnswer("What is the role of the KL divergence term?", "Regulariser."),
    ),
)
BOB = replace(result("bob"), free_text=(FreeTextAnswer("What do you observe?", "Sharp at 0."),))
MATH = "found => found.map(m => m instanceof MathMLElement && m.getBoundingClientRect().width > 0)"
IMAGES = "found => found.map(i => [i.getAttribute('src').slice(0, 22), i.complete && i.naturalWidth > 0])"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("review-rendered") / "reports"
    for graded in (ANN, BOB):
        graded.write(root / graded.submission / "results.json")
    executed = notebook(nbformat.v4.new_markdown_cell(r"## Exercise 2.1" + "\n\n" + r"$$\mu = \sqrt{\bar\alpha_3}\, x_0$$ " + SCRIPT))
    nbformat.write(executed, root / "ann" / "executed.ipynb")
    submitted = notebook(
        code(image_output("image/png", b64(figure_png())), image_output("image/svg+xml", "<svg onload='alert(1)'/>")),
        code(nbformat.v4.new_output("stream", name="stdout", text=f"epoch 10 loss 101.2 {SCRIPT}\n")),
        answer(TAGS[0]),
    )
    keep_own_outputs(submitted, SHA, TAGS, root / "ann" / OUTPUTS_NAME)
    record_run(root, (ANN, BOB), provenance(grader_version="9.9", reference_hash="feedbeef"))
    with Gradebook.open(root) as book:
        book.set_manual([ManualEntry("ann", "kl_observe", 1.0, COMMENT), ManualEntry("bob", "kl_observe", 0.5, "half")], by="ta")
        book.set_override("ann", "derivation.mu", score=1.0, reason=REASON, by="ta")
    publish(root)
    running = start_review(root, "--reviewer", "ta")
    yield running
    running.process.terminate()
    running.process.wait(timeout=30)


def report(tab, message) -> None:
    """A console error is a problem (a blocked inline style or script says so there); the browser's own favicon probe is not."""
    url = str(message.location.get("url", ""))
    if message.type == "error" and not url.endswith("/favicon.ico"):
        tab.problems.append(f"{message.text} {url}")


@pytest.fixture(scope="module")
def page(server: Server) -> Iterator:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        tab = browser.new_page(viewport={"width": 1366, "height": 900})
        tab.set_default_timeout(180_000)  # generous: other graders load this machine's two cores
        tab.problems = []  # dialogs and console errors (a content-policy violation is one)
        tab.on("dialog", lambda dialog: (tab.problems.append(dialog.message), dialog.dismiss()))
        tab.on("console", lambda message: report(tab, message))
        tab.goto(server.url)
        yield tab
        browser.close()


def test_grade_by_question_shows_rendered_math_and_each_students_figure(page, server):
    page.goto(server.base + "/questions/kl_observe")
    group = "[data-group]:has(a:text-is('ann'))"
    assert page.eval_on_selector_all(f"{group} .a math", MATH) == [True, True]
    assert page.locator(f"{group} .a strong").text_content() == "blurry"
    assert SCRIPT in page.locator(f"{group} .a").text_content()  # as text
    assert page.eval_on_selector_all(f"{group} [data-own-outputs] img", IMAGES) == [["data:image/png;base64,", True]]
    assert "epoch 10 loss 101.2" in page.locator(f"{group} [data-own-outputs] pre").text_content()
    assert page.locator("[data-group]:has(a:text-is('bob')) [data-own-outputs]").count() == 0  # nothing kept for bob
    assert page.locator("svg[onload], img[onerror], script:not([src])").count() == 0
    assert page.problems == []


def test_student_page_renders_answers_comments_reasons_derivations_and_notebook_markdown(page, server):
    page.goto(server.base + "/submissions/ann")
    assert page.eval_on_selector_all("[data-question=kl_observe] .a math", MATH) == [True, True]
    assert page.eval_on_selector_all("[data-question=kl_observe] .muted .md math", MATH) == [True]  # the TA's comment
    assert page.locator("[data-question=kl_observe] .muted .md em").text_content() == "say why"
    override = "tr[data-check='derivation.mu'] .adjusted .md"
    assert page.eval_on_selector_all(f"{override} math", MATH) == [True] and "<img src=x" in page.locator(override).text_content()
    assert page.eval_on_selector_all(".derivation dd math", MATH) == [True, True]
    assert page.eval_on_selector_all(".derivation dt math", MATH) == [True, True]  # μ and Σ, the assignment's labels
    assert page.eval_on_selector_all(".nb-md math", MATH) == [True] and page.locator(".nb-md h2").text_content() == "Exercise 2.1"
    # The student's own outputs: beside the answer, and all of them in their own section; never the SVG.
    assert page.eval_on_selector_all("[data-question=kl_observe] [data-own-outputs] img", IMAGES) == [["data:image/png;base64,", True]]
    assert page.locator("#own-outputs + [data-own-outputs] img").count() == 1
    assert page.locator("svg[onload], img[onerror], script:not([src])").count() == 0
    assert page.evaluate("window.pwned") is None and page.problems == []


def test_a_student_with_nothing_kept_says_so(page, server):
    page.goto(server.base + "/submissions/bob")
    assert page.locator("[data-own-outputs-none]").count() == 1 and page.locator("[data-own-outputs]").count() == 0
