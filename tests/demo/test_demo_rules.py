"""The demo review rules on small hand-made conversations, and on the real demo data as a whole."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from qa.demo import rules
from qa.demo.loader import read_records
from qa.demo.rules import Turn, assess
from scorecards import score_review, validate_definition

AGENT = "a-1"
DEFINITION = validate_definition(rules.DEMO_SCORECARD)


def convo(*lines: tuple[str, str]) -> list[Turn]:
    """Turns from (who, text) pairs; who is 'c' (customer), 'a' (the reviewed agent), 'o' (another agent)."""
    roles = {"c": ("customer", "cust-1"), "a": ("agent", AGENT), "o": ("agent", "a-2")}
    return [Turn(author=roles[who][0], author_id=roles[who][1], body=text) for who, text in lines]


class TestGreeting:
    def test_greeting_in_first_reply_is_yes(self) -> None:
        turns = convo(("c", "my wifi died"), ("a", "Hi there! Which card is it?"))
        finding = rules.rate_greeting(turns, AGENT)
        assert (finding.label, finding.good) == ("Yes", True)
        assert '"Hi"' in finding.comment

    def test_missing_greeting_is_no_and_points_at_the_first_reply(self) -> None:
        turns = convo(("c", "my wifi died"), ("a", "run lspci and paste it"), ("a", "hello?"))
        finding = rules.rate_greeting(turns, AGENT)
        assert finding.label == "No"
        assert finding.comment == "No greeting in the first reply."
        assert finding.root_cause == "Skipped greeting"
        assert finding.message_index == 1 and finding.pin

    def test_another_agents_greeting_does_not_count(self) -> None:
        turns = convo(("c", "my wifi died"), ("o", "Hello!"), ("a", "run lspci"))
        assert rules.rate_greeting(turns, AGENT).label == "No"

    def test_word_inside_another_word_is_not_a_greeting(self) -> None:
        turns = convo(("c", "help"), ("a", "this is a high-level issue, check dmesg"))
        assert rules.rate_greeting(turns, AGENT).label == "No"


class TestTone:
    def test_rude_word_is_poor_with_the_message_pinned(self) -> None:
        turns = convo(("c", "it won't boot"), ("a", "please paste the error"),
                      ("a", "that is a stupid question"))
        finding = rules.rate_tone(turns, AGENT)
        assert (finding.label, finding.root_cause, finding.message_index) == ("Poor", "Rude", 2)
        assert finding.pin and "stupid" in finding.comment

    def test_crude_word_about_software_is_ok_not_poor(self) -> None:
        turns = convo(("c", "it won't boot"), ("a", "hmm, stupid bug I guess, please file it"))
        finding = rules.rate_tone(turns, AGENT)
        assert (finding.label, finding.root_cause) == ("OK", "Unprofessional language")
        assert finding.message_index == 1

    def test_telling_someone_off_for_insults_is_not_rude(self) -> None:
        turns = convo(("c", "you guys are retards"), ("a", "please don't call people retards"))
        assert rules.rate_tone(turns, AGENT).label != "Poor"

    def test_insulting_the_customer_is_poor(self) -> None:
        turns = convo(("c", "can you do it for me"), ("a", "you are just lazy"))
        assert rules.rate_tone(turns, AGENT).root_cause == "Rude"

    def test_shouting_is_poor(self) -> None:
        turns = convo(("c", "it won't boot"), ("a", "READ WHAT I WROTE ABOVE FIRST"))
        finding = rules.rate_tone(turns, AGENT)
        assert (finding.label, finding.root_cause) == ("Poor", "Shouting (all caps)")

    def test_acronyms_and_links_are_not_shouting(self) -> None:
        turns = convo(("c", "it won't boot"), ("a", "reinstall GRUB from a LIVE USB: HTTPS://HELP.UBUNTU.COM/GRUB"))
        assert rules.rate_tone(turns, AGENT).label != "Poor"

    def test_politeness_is_great(self) -> None:
        turns = convo(("c", "it won't boot"), ("a", "Sorry to hear that! Could you please paste the error?"))
        finding = rules.rate_tone(turns, AGENT)
        assert (finding.label, finding.good) == ("Great", True)

    def test_brush_off_is_ok_and_dismissive(self) -> None:
        turns = convo(("c", "how do I mount it"), ("a", "google it"))
        finding = rules.rate_tone(turns, AGENT)
        assert (finding.label, finding.root_cause) == ("OK", "Dismissive")

    def test_neutral_text_is_ok(self) -> None:
        turns = convo(("c", "how do I mount it"), ("a", "use the mount command with the device name"))
        finding = rules.rate_tone(turns, AGENT)
        assert (finding.label, finding.root_cause) == ("OK", "Robotic")


class TestSolution:
    def test_concrete_fix_confirmed_by_the_customer_is_5(self) -> None:
        turns = convo(("c", "how do I install vlc"), ("a", "sudo apt-get install vlc"),
                      ("c", "that worked, thanks!"))
        finding = rules.rate_solution(turns, AGENT)
        assert (finding.label, finding.message_index) == ("5", 1)
        assert "confirmed" in finding.comment and finding.pin

    def test_concrete_answer_without_reply_is_4(self) -> None:
        turns = convo(("c", "how to reset my password"), ("a", "Follow https://example.com/reset"))
        assert rules.rate_solution(turns, AGENT).label == "4"

    def test_frustrated_customer_after_the_fix_is_2(self) -> None:
        turns = convo(("c", "sound is broken"), ("a", "run alsamixer and unmute"), ("c", "still not working"))
        finding = rules.rate_solution(turns, AGENT)
        assert (finding.label, finding.root_cause) == ("2", "Did not solve the problem")

    def test_customer_repeating_the_problem_is_2(self) -> None:
        turns = convo(("c", "my external monitor shows nothing after resume"), ("a", "try xrandr --auto"),
                      ("c", "external monitor shows nothing after resume, any idea"))
        assert rules.rate_solution(turns, AGENT).label == "2"

    def test_generic_advice_only_is_3(self) -> None:
        turns = convo(("c", "firefox is slow"), ("a", "try restarting it"))
        finding = rules.rate_solution(turns, AGENT)
        assert (finding.label, finding.root_cause) == ("3", "Incomplete answer")

    def test_not_knowing_is_2_knowledge_gap(self) -> None:
        turns = convo(("c", "how does kdump work"), ("a", "no idea, sorry"))
        finding = rules.rate_solution(turns, AGENT)
        assert (finding.label, finding.root_cause, finding.message_index) == ("2", "Knowledge gap", 1)

    def test_no_answer_and_a_frustrated_customer_is_1(self) -> None:
        turns = convo(("c", "my disk is gone"), ("a", "hmm"), ("c", "this is useless"))
        assert rules.rate_solution(turns, AGENT).label == "1"


class TestUnderstood:
    def test_question_and_customer_words_is_3(self) -> None:
        turns = convo(("c", "my wireless keeps dropping on the laptop"),
                      ("a", "which wireless card does the laptop have?"))
        assert rules.rate_understood(turns, AGENT).label == "3"

    def test_neither_is_1(self) -> None:
        turns = convo(("c", "my wireless keeps dropping"), ("a", "reinstall everything"))
        finding = rules.rate_understood(turns, AGENT)
        assert (finding.label, finding.root_cause) == ("1", "Did not ask clarifying questions")

    def test_question_mark_inside_a_link_is_not_a_question(self) -> None:
        turns = convo(("c", "printing fails"), ("a", "see https://example.com/x?id=1"))
        assert rules.rate_understood(turns, AGENT).label == "1"


class TestClarity:
    def test_full_sentences_are_4(self) -> None:
        turns = convo(("c", "q"), ("a", "Open the Software Updater and install the pending updates first."))
        assert rules.rate_clarity(turns, AGENT).label == "4"

    def test_fragments_lose_a_step(self) -> None:
        turns = convo(("c", "q"), ("a", "hmm"), ("a", "wait"),
                      ("a", "open the updater and install everything"))
        finding = rules.rate_clarity(turns, AGENT)
        assert (finding.label, finding.root_cause) == ("3", "Fragmented messages")

    def test_wall_of_text_loses_a_step(self) -> None:
        turns = convo(("c", "q"), ("a", "You should check this. " * 30))
        finding = rules.rate_clarity(turns, AGENT)
        assert (finding.label, finding.root_cause, finding.message_index) == ("3", "Wall of text", 1)

    def test_nothing_actionable_is_1(self) -> None:
        assert rules.rate_clarity(convo(("c", "q"), ("a", "yes"), ("a", "no")), AGENT).label == "1"


class TestClosing:
    def test_offer_of_more_help_is_yes(self) -> None:
        turns = convo(("c", "q"), ("a", "run fsck"), ("c", "ok"), ("a", "good luck, let me know how it goes"))
        assert rules.rate_closing(turns, AGENT).label == "Yes"

    def test_customer_left_hanging_is_no(self) -> None:
        turns = convo(("c", "q"), ("a", "run fsck"), ("c", "thanks!"))
        finding = rules.rate_closing(turns, AGENT)
        assert (finding.label, finding.root_cause) == ("No", "Left the customer hanging")

    def test_one_shot_reply_without_invitation_is_no(self) -> None:
        turns = convo(("c", "q"), ("a", "Hi, see https://example.com/help"))
        assert rules.rate_closing(turns, AGENT).root_cause == "No offer of further help"

    def test_customer_leaving_after_the_agent_is_na(self) -> None:
        turns = convo(("c", "q"), ("a", "run fsck"), ("c", "what flags?"), ("a", "fsck -f /dev/sda1"))
        finding = rules.rate_closing(turns, AGENT)
        assert finding.label is None and finding.comment.startswith("N/A")


class TestAssess:
    def test_rates_every_criterion_and_scores(self) -> None:
        turns = convo(("c", "how do I install vlc"), ("a", "Hi! sudo apt-get install vlc"),
                      ("c", "that worked, thanks!"), ("a", "you're welcome, enjoy"))
        result = assess(turns, AGENT)
        assert set(result.ratings) == {c.key for c in DEFINITION.criteria}
        assert result.ratings == {"greeting": "Yes", "understood": "2", "solution": "5", "tone": "Great",
                                  "clarity": "3", "closing": "Yes"}
        score = score_review(DEFINITION, result.ratings)
        assert score.passed and score.score == pytest.approx(100 * (1 + 2 * 0.5 + 3 + 2 + 2 / 3 + 1) / 10)
        assert result.comment.startswith("Strengths:")

    def test_critical_failure_is_named_first(self) -> None:
        result = assess(convo(("c", "how does kdump work"), ("a", "no idea")), AGENT)
        assert result.comment.startswith("Fails the critical resolution bar")
        assert score_review(DEFINITION, result.ratings).failed_critical

    def test_reads_stored_messages_too(self) -> None:
        from qa.models import AuthorRole, Message

        messages = [Message(conversation_id=1, position=0, author=AuthorRole.customer, body="hi, vlc?"),
                    Message(conversation_id=1, position=1, author=AuthorRole.agent, author_id=AGENT,
                            body="Hello! sudo apt install vlc")]
        assert assess(messages, AGENT).finding("greeting").label == "Yes"

    def test_internal_notes_are_not_read(self) -> None:
        record = {"messages": [{"author": "customer", "body": "q"},
                               {"author": "agent", "author_id": AGENT, "body": "stupid", "internal": True},
                               {"author": "agent", "author_id": AGENT, "body": "Hi, please reboot"}]}
        assert [t.body for t in rules.turns_from_record(record)] == ["q", "Hi, please reboot"]


def _all_findings() -> Sequence[tuple[dict[str, object], rules.Assessment]]:
    return [(r, assess(rules.turns_from_record(r), r["agent"]["external_id"])) for r in read_records()]


def test_every_rating_on_the_demo_data_fits_the_scorecard() -> None:
    """Labels, N/A and root causes are valid for their criterion; scores spread over the whole range."""
    scores = []
    for _, result in _all_findings():
        for finding in result.findings:
            criterion = DEFINITION.criterion(finding.key)
            if finding.label is None:
                assert criterion.allow_na
            else:
                criterion.option(finding.label)
            assert finding.root_cause is None or finding.root_cause in criterion.root_causes
            assert finding.comment
        scores.append(score_review(DEFINITION, result.ratings))
    assert any(s.passed for s in scores) and any(s.failed_critical for s in scores)
    assert len({round(s.score or 0) for s in scores}) > 10
