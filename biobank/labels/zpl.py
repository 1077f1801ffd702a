"""A small ZPL reader that splits a label into commands the way a Zebra printer does.

A printer knows no lines and no comments of its own: a command is the command
prefix (`^`, or `~` for the control commands) and the two characters after it;
its parameters run up to the next prefix. `^FX` (a comment) is no exception, so
a caret inside a comment ends the comment and whatever follows it is read as a
command: `^FX (see ^FH).` is a comment `(see ` and then `^FH` with the
parameter `).`, which sets a field's hex escape character. `^CC` / `~CC` and
`^CT` / `~CT` change the prefixes from the next character on, as on the printer.

`check_template` reads a label template (with its `{placeholders}` still in) and
names each thing a printer would not read as the author meant: a comment cut by
a caret or tilde, an unknown command, field data or a field command outside a
field, a field left open, anything outside the one `^XA ... ^XZ`.
"""
from dataclasses import dataclass

from flask_babel import gettext as _

# ZPL II commands (Zebra's programming guide), format commands with ^ and control commands with ~.
FORMAT_COMMANDS = frozenset("""
A0 A@ AA AB AC AD AE AF AG AH AI AJ AK AL AM AN AO AP AQ AR AS AT AU AV AW AX AY AZ
B0 B1 B2 B3 B4 B5 B7 B8 B9 BA BB BC BD BE BF BI BJ BK BL BM BO BP BQ BR BS BT BU BX BY BZ
CC CD CF CI CM CN CO CP CT CV CW DF DN EF EG FA FB FC FD FH FL FM FN FO FP FR FS FT FV FW FX
GB GC GD GE GF GS HF HG HH HT HV HW HY HZ ID IL IM IS JB JD JE JI JJ JL JM JN JO JP JS JT JU JW JZ
KD KL KN KP KV LF LH LL LR LS LT MA MC MD MF MI ML MM MN MP MT MU MW NC ND NI NN NP NS NT NW
PA PF PH PM PN PO PP PQ PR PS PW RF RL RS RT RU RW SC SE SF SI SL SN SO SP SQ SR SS ST SX SZ
TB TO WA WD WF WL WP WR WS XA XB XF XG XS XZ ZZ
""".split())
CONTROL_COMMANDS = frozenset("""
CC CD CT DB DE DG DN DS DT DU DY EG HB HD HI HM HQ HS HU JA JB JC JD JE JF JG JI JL JN JO JP JQ JR JS JX
KB NC NR NT PL PP PR PS RO SD TA WC WQ WR
""".split())
# Commands that belong inside a field (^FO/^FT ... ^FS).
FIELD_DATA = frozenset({"FD", "FV"})
FIELD_ONLY = frozenset({"FD", "FV", "FH", "FB", "FN", "FR", "FP", "FC", "FL", "TB", "FA"})
FIELD_OPEN = frozenset({"FO", "FT"})


class ZplError(ValueError):
    """What a printer would read differently from what the template says."""


@dataclass(frozen=True)
class Command:
    prefix: str      # the prefix character as written (^ or ~, or what ^CC/^CT made them)
    kind: str        # "^" (format) or "~" (control)
    code: str        # two characters, upper-cased
    params: str      # everything up to the next prefix
    line: int        # 1-based line of the prefix
    column: int      # 1-based column of the prefix

    def __str__(self) -> str:
        return f"{self.prefix}{self.code}{self.params}".strip()


def tokenize(text: str) -> tuple[str, list[Command]]:
    """(text before the first command, the commands in printer order)."""
    caret, tilde = "^", "~"
    commands, i, n = [], 0, len(text)
    while i < n and text[i] not in (caret, tilde):
        i += 1
    leading = text[:i]
    while i < n:
        kind = "^" if text[i] == caret else "~"
        prefix = text[i]
        code = text[i + 1:i + 3]
        j = i + 1 + len(code)
        if code.upper() in ("CC", "CT") and j < n:
            # the new prefix is the very next character; the printer uses it from there on
            if code.upper() == "CC":
                caret = text[j]
            else:
                tilde = text[j]
            commands.append(_command(text, i, prefix, kind, code, text[j]))
            i = j + 1
            while i < n and text[i] not in (caret, tilde):
                i += 1
            continue
        k = j
        while k < n and text[k] not in (caret, tilde):
            k += 1
        commands.append(_command(text, i, prefix, kind, code, text[j:k]))
        i = k
    return leading, commands


def _command(text: str, index: int, prefix: str, kind: str, code: str, params: str) -> Command:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return Command(prefix, kind, code.upper(), params, line, column)


def _shown(command: Command) -> str:
    text = str(command).splitlines()[0] if str(command) else command.prefix + command.code
    return text if len(text) <= 40 else text[:40] + "…"


def problems(text: str) -> list[str]:
    """Each thing a printer would read differently from what the author meant, with its line."""
    found = []
    leading, commands = tokenize(text)
    if leading.strip():
        found.append(_("line 1: '%(text)s' comes before any command; a printer prints or ignores it",
                       text=leading.strip()[:40]))
    in_label = in_field = False
    labels = 0
    for index, command in enumerate(commands):
        where = _("line %(num)s", num=command.line)
        known = FORMAT_COMMANDS if command.kind == "^" else CONTROL_COMMANDS
        if command.code == "FX":
            following = commands[index + 1] if index + 1 < len(commands) else None
            if following is not None and following.line == command.line and following.code != "FS":
                found.append(_("%(where)s: the ^FX comment ends at the '%(prefix)s' in it, and a printer reads "
                               "'%(command)s' as a command; a comment may hold no '%(prefix)s' (write it out in words)",
                               where=where, prefix=following.prefix, command=_shown(following)))
            continue
        if command.code not in known:
            found.append(_("%(where)s: '%(command)s' is not a ZPL command", where=where,
                           command=command.prefix + command.code))
            continue
        if command.code == "XA":
            if in_label:
                found.append(_("%(where)s: ^XA inside a label (the one before has no ^XZ)", where=where))
            in_label, labels = True, labels + 1
            continue
        if command.code == "XZ":
            if not in_label:
                found.append(_("%(where)s: ^XZ without ^XA", where=where))
            if in_field:
                found.append(_("%(where)s: the label ends inside a field (no ^FS after its data)", where=where))
            in_label = in_field = False
            continue
        if command.kind == "^" and not in_label:
            found.append(_("%(where)s: '%(command)s' is outside ^XA ... ^XZ", where=where, command=_shown(command)))
            continue
        if command.code in FIELD_OPEN:
            if in_field:
                found.append(_("%(where)s: a field starts before the one before it ended with ^FS", where=where))
            in_field = True
        elif command.code == "FS":
            if not in_field:
                found.append(_("%(where)s: ^FS ends no field", where=where))
            in_field = False
        elif command.code in FIELD_ONLY and not in_field:
            found.append(_("%(where)s: '%(command)s' belongs inside a field (^FO or ^FT ... ^FS) but stands outside one",
                           where=where, command=_shown(command)))
    if in_label:
        found.append(_("the last label has no ^XZ"))
    if labels == 0:
        found.append(_("there is no label (^XA ... ^XZ)"))
    return found


def check_template(text: str, name: str) -> None:
    """Refuse a template a printer would misread, naming every problem."""
    found = problems(text)
    if found:
        raise ZplError(_("%(file)s would not print as written: %(problems)s.", file=name, problems="; ".join(found)))
