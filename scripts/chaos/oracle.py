"""An independent reading of the event contract v1 (docs/contract/events-v1.md), written in Python from the
document alone, for the chaos runs: which records of an input are valid, which DLQ code each rejected one
gets, and which valid ones are first copies. It shares no code with the TypeScript pipeline."""

import json
import re
from datetime import datetime, timezone
from decimal import Decimal

MAX_RECORD_BYTES = 64 * 1024
SAFE = 2**53 - 1
FUTURE_MS = 5 * 60 * 1000
MAX_LATENESS_MS = 30 * 86_400_000
DEVICES = {"desktop", "mobile", "tablet"}
PAGE_TYPES = {"home", "category", "product", "search", "cart", "checkout", "confirmation", "other"}
PAYMENT = {"card", "paypal", "apple_pay", "gift_card", "other"}
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TS = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
TYPES = ["page_view", "search", "add_to_cart", "remove_from_cart", "checkout_started", "order_placed", "order_returned"]


class Reject(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


def _no_constants(name):
    raise ValueError(name)  # NaN and Infinity are not JSON


def is_int(v, lo=None, hi=None):
    ok = isinstance(v, int) and not isinstance(v, bool) or (isinstance(v, float) and v.is_integer())
    if not ok or abs(v) > SAFE:
        return False
    return (lo is None or v >= lo) and (hi is None or v <= hi)


def is_money(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    d = Decimal(repr(v)) if isinstance(v, float) else Decimal(v)
    return d >= 0 and d < 1_000_000 and d == d.quantize(Decimal("0.01"))


def cents(v):
    return int((Decimal(repr(v)) if isinstance(v, float) else Decimal(v)) * 100)


def parse_ts(s):
    """Epoch ms of an RFC 3339 timestamp, or None."""
    if not isinstance(s, str):
        return None
    m = TS.match(s)
    if m is None:
        return None
    y, mo, d, h, mi, sec = (int(x) for x in m.groups()[:6])
    if sec > 59:
        return None
    frac = (m.group(7) or ".0")[1:4].ljust(3, "0")
    try:
        t = datetime(y, mo, d, h, mi, sec, int(frac) * 1000, tzinfo=timezone.utc)
    except ValueError:
        return None
    off = m.group(8)
    ms = int((t - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds() * 1000)
    if off not in ("Z", "z"):
        sign = 1 if off[0] == "+" else -1
        oh, om = int(off[1:3]), int(off[4:6])
        if oh > 23 or om > 59:
            return None
        ms -= sign * (oh * 60 + om) * 60_000
    return ms


def need(cond):
    if not cond:
        raise Reject("schema_violation")


def text_or_null(v):
    return v is None or isinstance(v, str)


def check_envelope(e):
    need(isinstance(e.get("event_id"), str) and UUID.match(e["event_id"]))
    need(parse_ts(e.get("event_ts")) is not None)
    for k in ("anonymous_id", "session_id"):
        need(isinstance(e.get(k), str) and 1 <= len(e[k]) <= 64)
    need("user_id" in e and text_or_null(e["user_id"]))
    c = e.get("context")
    need(isinstance(c, dict))
    need(isinstance(c.get("device"), str) and c["device"] in DEVICES)
    need(isinstance(c.get("country"), str) and re.fullmatch(r"[A-Z]{2}", c["country"]) is not None)
    for k in ("user_agent", "referrer", "utm_source", "utm_medium", "utm_campaign"):
        need(text_or_null(c.get(k)))


def sku(v):
    return isinstance(v, str) and len(v) >= 1


def check_type(e, t):
    if t == "page_view":
        need(isinstance(e.get("page_type"), str) and e["page_type"] in PAGE_TYPES and isinstance(e.get("page_url"), str))
        need("category" in e and text_or_null(e["category"]))
        need(e.get("sku") is None or sku(e.get("sku")))
        need(e["page_type"] != "product" or sku(e.get("sku")))
    elif t == "search":
        need(isinstance(e.get("query"), str) and 1 <= len(e["query"]) <= 200)
        need(is_int(e.get("results_count"), 0))
    elif t == "add_to_cart":
        need(sku(e.get("sku")) and is_int(e.get("quantity"), 1, 99) and is_money(e.get("unit_price")))
        need(isinstance(e.get("currency"), str))
    elif t == "remove_from_cart":
        need(sku(e.get("sku")) and is_int(e.get("quantity"), 1, 99))
    elif t == "checkout_started":
        need(is_money(e.get("cart_value")) and is_int(e.get("item_count"), 1) and isinstance(e.get("currency"), str))
    elif t == "order_placed":
        need(sku(e.get("order_id")))
        items = e.get("items")
        need(isinstance(items, list) and 1 <= len(items) <= 100)
        for i in items:
            need(isinstance(i, dict) and sku(i.get("sku")) and is_int(i.get("quantity"), 1, 99) and is_money(i.get("unit_price")))
        for k in ("subtotal", "discount", "shipping", "tax", "total"):
            need(is_money(e.get(k)))
        need(isinstance(e.get("currency"), str) and isinstance(e.get("payment_method"), str) and e["payment_method"] in PAYMENT)
        need("coupon" in e and text_or_null(e["coupon"]))
    elif t == "order_returned":
        need(sku(e.get("order_id")))
        items = e.get("items")
        need(isinstance(items, list) and 1 <= len(items) <= 100)
        for i in items:
            need(isinstance(i, dict) and sku(i.get("sku")) and is_int(i.get("quantity"), 1, 99))
        need(is_money(e.get("refund_amount")) and isinstance(e.get("currency"), str) and isinstance(e.get("reason"), str))


def judge(value: bytes, record_ts_ms=None, currency="USD"):
    """('ok', event) or ('dlq', code). Time rules only when the record timestamp is known."""
    try:
        if len(value) > MAX_RECORD_BYTES:
            raise Reject("too_large")
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            raise Reject("invalid_json")
        if text.startswith("\ufeff"):
            text = text[1:]
        try:
            e = json.loads(text, parse_constant=_no_constants)
        except (ValueError, RecursionError):
            raise Reject("invalid_json")
        need(isinstance(e, dict))
        v = e.get("schema_version")
        need(is_int(v))
        if v != 1:
            raise Reject("unsupported_schema_version")
        t = e.get("event_type")
        need(isinstance(t, str))
        if t not in TYPES:
            raise Reject("unknown_event_type")
        check_envelope(e)
        check_type(e, t)
        if "currency" in e and e["currency"] != currency:
            raise Reject("unsupported_currency")
        if t == "order_placed":
            lines = sum(i["quantity"] * cents(i["unit_price"]) for i in e["items"])
            if lines != cents(e["subtotal"]):
                raise Reject("invariant_violation")
            if cents(e["subtotal"]) - cents(e["discount"]) + cents(e["shipping"]) + cents(e["tax"]) != cents(e["total"]):
                raise Reject("invariant_violation")
        if record_ts_ms is not None:
            ahead = parse_ts(e["event_ts"]) - record_ts_ms
            if ahead > FUTURE_MS:
                raise Reject("future_timestamp")
            if -ahead > MAX_LATENESS_MS:
                raise Reject("too_late")
        return ("ok", e)
    except Reject as r:
        return ("dlq", r.code)


class Expected:
    """What Silver, the DLQ and the duplicate count must hold after the pipeline read these records."""

    def __init__(self):
        self.silver = {t: 0 for t in TYPES}
        self.ids = set()
        self.dlq = {}
        self.duplicates = 0
        self.records = 0
        self.orders = []  # (event_date, subtotal, discount, shipping, tax, total) in cents, first copies

    def add(self, value: bytes, record_ts_ms=None):
        self.records += 1
        verdict, x = judge(value, record_ts_ms)
        if verdict == "dlq":
            self.dlq[x] = self.dlq.get(x, 0) + 1
            return
        key = x["event_id"].lower()
        if key in self.ids:
            self.duplicates += 1
            return
        self.ids.add(key)
        self.silver[x["event_type"]] += 1
        if x["event_type"] == "order_placed":
            day = datetime.fromtimestamp(parse_ts(x["event_ts"]) / 1000, tz=timezone.utc).date().isoformat()
            self.orders.append((day, *(cents(x[k]) for k in ("subtotal", "discount", "shipping", "tax", "total"))))
