"""Freshdesk tickets as native conversations: one GET /api/v2/tickets/{id}?include=conversations answer in.

`description` is the first message, `conversations` the replies and notes. The record may also hold
`requester` (include=requester), `stats` (include=stats), an embedded satisfaction rating, and
"agents" and "groups" lists beside the ticket (as GET /api/v2/agents and /api/v2/groups answer them)
to name the agent and the team.

Decisions:
- source is "freshdesk"; external_id the ticket id.
- channel from the `source` code: 1 email, 2 portal, 9 feedback widget and 10 outbound email →
  email (all answered as e-mail threads); 3 phone → phone; 7 chat → chat; 5 Twitter and 6 Facebook
  → social; 4 forum, 8 Mobihelp and codes Freshdesk adds later → other. The code stays in metadata.
- Messages: the description (`description` through html_to_text, else `description_text`) by the
  requester at `created_at`, except for an outbound e-mail (source 10), where the agent wrote it. Then
  each conversation: `private` → internal note by an agent, `incoming` → customer, else an agent
  reply, all in time order. Bodies: `body` through html_to_text (paragraphs kept the same way for
  every helpdesk), else `body_text`; the e-mail history Freshdesk quotes under a reply
  (`.freshdesk_quote`) is dropped, since it repeats earlier messages. An empty description is no message.
- agent: `responder_id` (name and e-mail from "agents" when given); none → the last agent who replied.
  team: the group's name from "groups", else "group <id>" so tickets of one group stay together.
- customer: the requester (name from `requester`). created_at: the ticket's.
- closed_at, for status 4 (resolved) and 5 (closed): `stats.resolved_at` (when the agent's work
  ended; Freshdesk closes resolved tickets later), else `stats.closed_at`, else `updated_at`.
  reopen_count: none, since Freshdesk only tells when the ticket was last reopened (`stats`, kept).
- csat from an embedded "satisfaction_rating" (or the latest of "satisfaction_ratings", as
  GET /api/v2/surveys/satisfaction_ratings answers them), its `ratings.default_question` on
  Freshdesk's survey scale: 103 and 102 → 5, 101 → 4, 100 → 3, -101 → 2, -102 and -103 → 1 (the
  three "happy" and three "unhappy" steps folded onto five stars); another value is an error, ratings
  are never guessed. The feedback text goes to metadata.
- metadata["freshdesk"]: the ticket's other fields (status, priority, type, source, group_id,
  custom_fields, stats, due dates, …) with `status_name` and `priority_name` for the documented
  codes; nulls, empties and attachment links (they expire) left out.
"""

from __future__ import annotations

import json
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from qa.conversations.formats.base import (
    RecordError,
    as_id,
    as_list,
    as_object,
    as_text,
    identified,
    iso_utc,
    kind_of,
)
from qa.conversations.formats.html_text import html_to_text

SOURCE = "freshdesk"
CHANNELS = {1: "email", 2: "email", 3: "phone", 5: "social", 6: "social", 7: "chat", 9: "email", 10: "email"}
OUTBOUND_EMAIL = 10
QUOTE = "freshdesk_quote"  # the class of the element holding the quoted e-mail history
STATUSES = {2: "open", 3: "pending", 4: "resolved", 5: "closed"}
PRIORITIES = {1: "low", 2: "medium", 3: "high", 4: "urgent"}
CLOSED = frozenset({4, 5})
CSAT = {103: 5, 102: 5, 101: 4, 100: 3, -101: 2, -102: 1, -103: 1}
# Native fields or their raw material; everything else on the ticket is kept in metadata.
CONSUMED = frozenset({
    "id", "subject", "description", "description_text", "conversations", "requester_id", "requester",
    "responder_id", "tags", "created_at", "satisfaction_rating", "satisfaction_ratings", "attachments",
    "agents", "groups",
})


def convert(record: Any) -> dict[str, Any]:
    """One Freshdesk ticket as a native conversation; RecordError names the ticket and the field."""
    if not isinstance(record, dict):
        raise RecordError(f"expected a JSON object, got {kind_of(record)}")
    return identified("ticket", record.get("id"), "id", lambda ident: _Ticket(record).convert(ident))


class _Ticket:
    """One ticket being read, with the people it names."""

    def __init__(self, ticket: dict[str, Any]) -> None:
        self.ticket = ticket
        self.requester = as_id(ticket.get("requester_id"), "requester_id")
        self.responder = as_id(ticket.get("responder_id"), "responder_id")
        self.agents = _by_id(ticket.get("agents"), "agents")
        self.groups = _by_id(ticket.get("groups"), "groups")
        self.source = _code(ticket.get("source"), "source")
        self.status = _code(ticket.get("status"), "status")

    def convert(self, ticket_id: str) -> dict[str, Any]:
        t = self.ticket
        return {
            "external_id": ticket_id, "source": SOURCE, "channel": CHANNELS.get(self.source or 0, "other"),
            "subject": as_text(t.get("subject"), "subject"), "agent": self._agent(), "team": self._team(),
            "customer": self._customer(), "created_at": iso_utc(t.get("created_at"), "created_at"),
            "closed_at": self._closed_at(), "csat": self._csat(), "tags": _tags(t.get("tags")),
            "messages": self._messages(), "metadata": {SOURCE: self._metadata()},
        }

    def _name(self, user_id: str | None) -> str | None:
        """A person's name: the requester's, or an agent's from "agents"."""
        if user_id is None:
            return None
        if user_id == self.requester:
            return as_text(as_object(self.ticket.get("requester"), "requester").get("name"), "requester.name")
        return self._agent_contact(user_id)[0]

    def _agent_contact(self, agent_id: str) -> tuple[str | None, str | None]:
        agent = self.agents.get(agent_id, {})
        field = f"agents[id={agent_id}]"
        # GET /agents nests the person in "contact"
        contact = as_object(agent.get("contact"), f"{field}.contact") or agent
        return as_text(contact.get("name"), f"{field}.name"), as_text(contact.get("email"), f"{field}.email")

    def _agent(self) -> dict[str, Any] | None:
        if self.responder is None:
            return None
        name, email = self._agent_contact(self.responder)
        return {"external_id": self.responder, "name": name, "email": email}

    def _team(self) -> str | None:
        group = as_id(self.ticket.get("group_id"), "group_id")
        if group is None:
            return None
        return as_text(self.groups.get(group, {}).get("name"), f"groups[id={group}].name") or f"group {group}"

    def _customer(self) -> dict[str, Any] | None:
        if self.requester is None:
            return None
        return {"external_id": self.requester, "name": self._name(self.requester)}

    def _closed_at(self) -> str | None:
        if self.status not in CLOSED:
            return None
        stats = as_object(self.ticket.get("stats"), "stats")
        return (iso_utc(stats.get("resolved_at"), "stats.resolved_at")
                or iso_utc(stats.get("closed_at"), "stats.closed_at")
                or iso_utc(self.ticket.get("updated_at"), "updated_at"))

    def _csat(self) -> int | None:
        rating, field = self._rating()
        if not rating:
            return None
        ratings = as_object(rating.get("ratings"), f"{field}.ratings")
        value = ratings.get("default_question")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value not in CSAT:
            raise RecordError(f"{field}.ratings.default_question: not a Freshdesk survey rating"
                              f" (103, 102, 101, 100, -101, -102, -103): {json.dumps(value)[:40]}")
        return CSAT[value]

    def _rating(self) -> tuple[dict[str, Any], str]:
        """The embedded satisfaction rating, the latest when there are several."""
        one = self.ticket.get("satisfaction_rating")
        if one is not None:
            return as_object(one, "satisfaction_rating"), "satisfaction_rating"
        latest: tuple[str, int] | None = None
        ratings = as_list(self.ticket.get("satisfaction_ratings"), "satisfaction_ratings")
        for i, value in enumerate(ratings):
            entry = as_object(value, f"satisfaction_ratings[{i}]", required=True)
            at = iso_utc(entry.get("created_at"), f"satisfaction_ratings[{i}].created_at") or ""
            if latest is None or at >= latest[0]:
                latest = (at, i)
        if latest is None:
            return {}, "satisfaction_ratings"
        return ratings[latest[1]], f"satisfaction_ratings[{latest[1]}]"

    def _messages(self) -> list[dict[str, Any]]:
        t = self.ticket
        entries = as_list(t.get("conversations"), "conversations")
        messages = [self._reply(entry, f"conversations[{i}]") for i, entry in enumerate(entries)]
        body = _body(t, "description", "description_text")
        if body:
            outbound = self.source == OUTBOUND_EMAIL
            author = self.responder if outbound else self.requester
            messages.insert(0, {"author": "agent" if outbound else "customer", "author_id": author,
                                "author_name": self._name(author), "body": body,
                                "created_at": iso_utc(t.get("created_at"), "created_at"), "internal": False})
        if all(m["created_at"] for m in messages):
            messages.sort(key=lambda m: m["created_at"])  # stable: equal times keep Freshdesk's order
        return messages

    def _reply(self, value: Any, field: str) -> dict[str, Any]:
        entry = as_object(value, field, required=True)
        private, incoming = _flag(entry, "private", field), _flag(entry, "incoming", field)
        user = as_id(entry.get("user_id"), f"{field}.user_id")
        return {"author": "customer" if incoming and not private else "agent", "author_id": user,
                "author_name": self._name(user), "body": _body(entry, "body", "body_text", field),
                "created_at": iso_utc(entry.get("created_at"), f"{field}.created_at"), "internal": private}

    def _metadata(self) -> dict[str, Any]:
        kept = {k: v for k, v in self.ticket.items() if k not in CONSUMED and v not in (None, "", [], {})}
        if self.status in STATUSES:
            kept["status_name"] = STATUSES[self.status]
        priority = _code(self.ticket.get("priority"), "priority")
        if priority in PRIORITIES:
            kept["priority_name"] = PRIORITIES[priority]
        rating, field = self._rating()
        feedback = as_text(rating.get("feedback"), f"{field}.feedback")
        if feedback:
            kept["csat_feedback"] = feedback
        return kept


def _body(entry: dict[str, Any], html_key: str, text_key: str, field: str = "") -> str:
    where = f"{field}." if field else ""
    text = html_to_text(_without_quote(as_text(entry.get(html_key), f"{where}{html_key}")))
    if text:
        return text
    plain = as_text(entry.get(text_key), f"{where}{text_key}") or ""
    return plain.replace("\r\n", "\n").replace("\r", "\n").strip()


def _without_quote(html: str | None) -> str | None:
    """The HTML without the e-mail history Freshdesk quotes under a reply (it repeats earlier messages)."""
    if not html or QUOTE not in html:
        return html
    tree = LexborHTMLParser(html)
    for node in tree.css(f".{QUOTE}"):
        node.decompose()
    return tree.html


def _flag(entry: dict[str, Any], key: str, field: str) -> bool:
    value = entry.get(key)
    if value is None or isinstance(value, bool):
        return bool(value)
    raise RecordError(f"{field}.{key}: expected true or false, got {kind_of(value)}")


def _code(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError(f"{field}: expected a numeric code, got {kind_of(value)}")
    return value


def _tags(value: Any) -> list[str]:
    tags = as_list(value, "tags")
    for i, tag in enumerate(tags):
        if not isinstance(tag, str):
            raise RecordError(f"tags[{i}]: expected a string, got {kind_of(tag)}")
    return tags


def _by_id(value: Any, field: str) -> dict[str, dict[str, Any]]:
    found = {}
    for i, item in enumerate(as_list(value, field)):
        entry = as_object(item, f"{field}[{i}]", required=True)
        item_id = as_id(entry.get("id"), f"{field}[{i}].id")
        if item_id is not None:
            found[item_id] = entry
    return found
