"""Zendesk tickets as native conversations: `{"ticket", "comments", "users"}` in, one record out.

The record is what Zendesk's API answers (PRODUCT.md §4): the ticket as GET /api/v2/tickets/{id}.json
returns it, its comments as GET /api/v2/tickets/{id}/comments.json, and optionally the users and
groups involved (the API's `users` and `groups` side-loads, either as lists or as the endpoints'
`{"users": [...]}` bodies). A bare ticket holding its own "comments" (and "users") is read too.

Decisions:
- source is "zendesk"; external_id the ticket id.
- channel from `via.channel`: web forms and e-mail → email (both are answered as e-mail threads),
  chat, messaging, the mobile SDK and SMS → chat, voice → phone, Twitter, Facebook, WhatsApp,
  Instagram and the other messaging apps → social; api, rules and anything new → other.
- Comment authors: `via.source.rel` "answer_bot…" → bot, a trigger or automation (`via.channel`
  "rule") → bot, author -1 (Zendesk's own system user: merge notices and the like) → system.
  Otherwise, with `users`, the role decides (end-user → customer, agent/admin → agent); an author
  missing from `users` (or without them at all) is the customer if they are the requester, else an agent.
  `public: false` is an internal note. The body is `plain_body`, else `body`, else `html_body` as text.
- agent: the assignee (name and e-mail from `users`); none assigned → the last agent who replied.
  team: the group's name from `groups`, else "group <id>" so tickets of one group stay together.
- customer: the requester. created_at: the ticket's. closed_at: for solved and closed tickets,
  `metric_set.solved_at` (when the agent's work ended; Zendesk closes solved tickets days later),
  else `updated_at`. reopen_count: `metric_set.reopens` (the metric set may also be the record's
  "ticket_metric", as GET /api/v2/tickets/{id}/metrics returns it).
- csat: satisfaction "good" → 5, "bad" → 1, "offered"/"unoffered" → none; the comment goes to metadata.
- metadata["zendesk"]: the ticket's other fields (status, priority, type, via, custom_fields, url,
  group_id, …), nulls and empties left out; the duplicates (description, raw_subject, fields) too.
- A ticket without comments keeps its `description` as the customer's first message.
- Ratings are never guessed: an unknown satisfaction score is an error. Unknown channels and roles,
  which Zendesk adds over time, fall back as above instead.
"""

from __future__ import annotations

from typing import Any

from qa.conversations.formats.base import (
    RecordError,
    as_count,
    as_id,
    as_list,
    as_object,
    as_text,
    identified,
    iso_utc,
    kind_of,
)
from qa.conversations.formats.html_text import html_to_text

SOURCE = "zendesk"
CHANNELS = {
    "email": "email", "web": "email", "chat": "chat", "native_messaging": "chat", "mobile_sdk": "chat",
    "sms": "chat", "voice": "phone", "twitter": "social", "facebook": "social", "whatsapp": "social",
    "instagram_dm": "social", "messenger": "social", "line": "social", "wechat": "social",
    "telegram": "social", "viber": "social", "kakaotalk": "social", "apple_business_chat": "social",
    "google_business_messages": "social",
}
ROLES = {"end-user": "customer", "agent": "agent", "admin": "agent"}
CSAT = {"good": 5, "bad": 1, "offered": None, "unoffered": None}
SOLVED = frozenset({"solved", "closed"})
SYSTEM_USER = "-1"
# Native fields or duplicates of them; everything else on the ticket is kept in metadata.
CONSUMED = frozenset({
    "id", "subject", "raw_subject", "description", "fields", "tags", "assignee_id", "requester_id",
    "created_at", "satisfaction_rating", "comments", "users", "groups",
})


def convert(record: Any) -> dict[str, Any]:
    """One Zendesk record as a native conversation; RecordError names the ticket and the field."""
    if not isinstance(record, dict):
        raise RecordError(f"expected a JSON object, got {kind_of(record)}")
    wrapped = "ticket" in record
    ticket = _single(as_object(record["ticket"], "ticket", required=True), "ticket") if wrapped else record
    prefix = "ticket." if wrapped else ""
    return identified("ticket", ticket.get("id"), f"{prefix}id",
                      lambda ident: _Ticket(record, ticket, prefix).convert(ident))


class _Ticket:
    """One record being read: the ticket, its users and groups, and where its fields live."""

    def __init__(self, record: dict[str, Any], ticket: dict[str, Any], prefix: str) -> None:
        self.record, self.ticket, self.prefix = record, ticket, prefix
        self.users = _by_id(self._side("users"), "users", "user")
        self.groups = _by_id(self._side("groups"), "groups", "group")
        self.requester = self._id("requester_id")

    def convert(self, ticket_id: str) -> dict[str, Any]:
        t, p = self.ticket, self.prefix
        metrics, mfield = self._metrics()
        return {
            "external_id": ticket_id, "source": SOURCE, "channel": self._channel(),
            "subject": as_text(t.get("subject"), f"{p}subject"), "agent": self._agent(), "team": self._team(),
            "customer": self._customer(), "created_at": iso_utc(t.get("created_at"), f"{p}created_at"),
            "closed_at": self._closed_at(metrics, mfield), "csat": self._csat(),
            "tags": _tags(t.get("tags"), f"{p}tags"),
            "reopen_count": as_count(metrics.get("reopens"), f"{mfield}.reopens"),
            "messages": self._messages(), "metadata": {SOURCE: self._metadata()},
        }

    def _closed_at(self, metrics: dict[str, Any], mfield: str) -> str | None:
        if as_text(self.ticket.get("status"), f"{self.prefix}status") not in SOLVED:
            return None
        return (iso_utc(metrics.get("solved_at"), f"{mfield}.solved_at")
                or iso_utc(self.ticket.get("updated_at"), f"{self.prefix}updated_at"))

    def _side(self, key: str) -> list[Any]:
        # Side-loads sit beside the ticket, or inside a bare ticket.
        return as_list(self.record.get(key), key, key)

    def _id(self, key: str) -> str | None:
        return as_id(self.ticket.get(key), f"{self.prefix}{key}")

    def _metrics(self) -> tuple[dict[str, Any], str]:
        places = ((self.ticket, f"{self.prefix}metric_set"), (self.record, "metric_set"),
                  (self.record, "ticket_metric"), (self.record, "metrics"))
        for holder, field in places:
            key = field.rsplit(".", 1)[-1]
            if holder.get(key) is not None:
                return as_object(holder[key], field), field
        return {}, "metric_set"

    def _channel(self) -> str:
        via = as_object(self.ticket.get("via"), f"{self.prefix}via")
        channel = as_text(via.get("channel"), f"{self.prefix}via.channel")
        return CHANNELS.get(channel or "", "other")

    def _person(self, user_id: str) -> tuple[str | None, str | None]:
        user = self.users.get(user_id, {})
        return (as_text(user.get("name"), f"users[id={user_id}].name"),
                as_text(user.get("email"), f"users[id={user_id}].email"))

    def _agent(self) -> dict[str, Any] | None:
        assignee = self._id("assignee_id")
        if assignee is None:
            return None
        name, email = self._person(assignee)
        return {"external_id": assignee, "name": name, "email": email}

    def _team(self) -> str | None:
        group = self._id("group_id")
        if group is None:
            return None
        name = as_text(self.groups.get(group, {}).get("name"), f"groups[id={group}].name")
        return name or f"group {group}"

    def _customer(self) -> dict[str, Any] | None:
        if self.requester is None:
            return None
        return {"external_id": self.requester, "name": self._person(self.requester)[0]}

    def _csat(self) -> int | None:
        rating = as_object(self.ticket.get("satisfaction_rating"), f"{self.prefix}satisfaction_rating")
        field = f"{self.prefix}satisfaction_rating.score"
        score = as_text(rating.get("score"), field)
        if score is None:
            return None
        if score not in CSAT:
            raise RecordError(f"{field}: not a Zendesk satisfaction score (good, bad, offered, unoffered):"
                              f" {score[:40]!r}")
        return CSAT[score]

    def _messages(self) -> list[dict[str, Any]]:
        comments = as_list(self.record.get("comments"), "comments", "comments")
        messages = [self._message(c, f"comments[{i}]") for i, c in enumerate(comments)]
        if not messages:
            messages = self._description()
        if all(m["created_at"] for m in messages):
            messages.sort(key=lambda m: m["created_at"])  # stable: equal times keep Zendesk's order
        return messages

    def _message(self, value: Any, field: str) -> dict[str, Any]:
        comment = as_object(value, field, required=True)
        author = as_id(comment.get("author_id"), f"{field}.author_id")
        public = comment.get("public", True)
        if public is not None and not isinstance(public, bool):
            raise RecordError(f"{field}.public: expected true or false, got {kind_of(public)}")
        return {
            "author": self._role(comment, author, field), "author_id": author,
            "author_name": self._person(author)[0] if author else None, "body": _body(comment, field),
            "created_at": iso_utc(comment.get("created_at"), f"{field}.created_at"),
            "internal": public is False,
        }

    def _role(self, comment: dict[str, Any], author: str | None, field: str) -> str:
        via = as_object(comment.get("via"), f"{field}.via")
        source = as_object(via.get("source"), f"{field}.via.source")
        rel = as_text(source.get("rel"), f"{field}.via.source.rel") or ""
        if rel.startswith("answer_bot") or as_text(via.get("channel"), f"{field}.via.channel") == "rule":
            return "bot"
        if author == SYSTEM_USER:
            return "system"
        role = as_text(self.users.get(author or "", {}).get("role"), f"users[id={author}].role")
        if role in ROLES:
            return ROLES[role]
        return "customer" if author is not None and author == self.requester else "agent"

    def _description(self) -> list[dict[str, Any]]:
        text = as_text(self.ticket.get("description"), f"{self.prefix}description")
        if not text or not text.strip():
            return []
        return [{"author": "customer", "author_id": self.requester,
                 "author_name": self._person(self.requester)[0] if self.requester else None,
                 "body": _plain(text), "created_at": iso_utc(self.ticket.get("created_at"),
                                                            f"{self.prefix}created_at"),
                 "internal": False}]

    def _metadata(self) -> dict[str, Any]:
        kept = {k: v for k, v in self.ticket.items() if k not in CONSUMED and v not in (None, "", [], {})}
        rating = as_object(self.ticket.get("satisfaction_rating"), "satisfaction_rating")
        comment = as_text(rating.get("comment"), f"{self.prefix}satisfaction_rating.comment")
        if comment:
            kept["satisfaction_comment"] = comment
        return kept


def _body(comment: dict[str, Any], field: str) -> str:
    for key in ("plain_body", "body"):
        text = as_text(comment.get(key), f"{field}.{key}")
        if text and text.strip():
            return _plain(text)
    html = as_text(comment.get("html_body"), f"{field}.html_body")
    return html_to_text(html)


def _plain(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _tags(value: Any, field: str) -> list[str]:
    tags = as_list(value, field, "tags")
    for i, tag in enumerate(tags):
        if not isinstance(tag, str):
            raise RecordError(f"{field}[{i}]: expected a string, got {kind_of(tag)}")
    return tags




def _by_id(items: list[Any], field: str, key: str) -> dict[str, dict[str, Any]]:
    found = {}
    for i, item in enumerate(items):
        entry = _single(as_object(item, f"{field}[{i}]", required=True), key)
        item_id = as_id(entry.get("id"), f"{field}[{i}].id")
        if item_id is not None:
            found[item_id] = entry
    return found


def _single(value: dict[str, Any], key: str) -> dict[str, Any]:
    """The object itself, or the one inside a single-object answer such as {"user": {...}}."""
    inner = value.get(key)
    return inner if "id" not in value and isinstance(inner, dict) else value
