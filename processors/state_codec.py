"""How a processor's typed state is written to its table's changelog: the domain module's
own compact `encode`/`decode`, as JSON. The table in memory holds the typed objects; only a
write (and a recovery) pays for the encoding."""

from __future__ import annotations

import json
from typing import Any, Callable

from faust.serializers.codecs import Codec


class StateCodec(Codec):
    """`per_conversation`: the value is {conversation id: state} (SLA clocks, ladders)."""

    def __init__(self, encode: Callable[[Any], Any], decode: Callable[[Any], Any], per_conversation: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.encode, self.decode, self.per_conversation = encode, decode, per_conversation

    def clone(self, *children: Any) -> Any:
        return type(self)(self.encode, self.decode, self.per_conversation, children=self.children + children)

    def _dumps(self, obj: Any) -> bytes:
        data = {k: self.encode(v) for k, v in obj.items()} if self.per_conversation else self.encode(obj)
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()

    def _loads(self, raw: bytes) -> Any:
        data = json.loads(raw)
        return {k: self.decode(v) for k, v in data.items()} if self.per_conversation else self.decode(data)


def plain() -> StateCodec:
    return StateCodec(lambda v: v, lambda v: v)
