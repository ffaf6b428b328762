// Template editor: drag a zone to move it, drag its corner to resize it, drag on empty paper to add a
// field, click a zone to edit it in the side panel, Delete to remove it, arrow keys to nudge (Shift: 1 mm),
// Ctrl+D to duplicate. Zoom with the buttons, Ctrl+wheel or the +/- keys. On a legacy form edges snap to
// the master's ruled lines within 1.5 mm (Shift while dragging: no snapping).
// Shift+click adds a zone to the selection (or takes it out): several zones move together and align
// to the one selected first (L, T, W, H, X, Y or the panel's buttons). Groups (a block printed several
// times) are edited in the panel; their further blocks are drawn here from block 1, dotted, at once.
// A sample scan of the form can be read with the zones as they are (values and confidences on the zones).
// Millimetres in the data, pixels only on screen (zones are placed in % of the sheet, so a zoom only
// resizes the sheet). No framework, no build step.
(function () {
  "use strict";
  const sheet = document.getElementById("esheet");
  if (!sheet) return;
  const wrap = document.getElementById("escroll");
  const data = JSON.parse(document.getElementById("tpl-data").textContent);
  const msgs = data.messages;
  const kinds = data.kinds || {};
  const lines = data.lines || { h: [], v: [] };
  const pageW = data.page.w;
  const pageH = data.page.h;
  // A group's further blocks are drawn from `groups` (copies()), not kept as fields.
  let fields = data.fields.filter((f) => !f.group);
  let groups = data.groups || [];
  let covers = data.covers || {};
  let reads = {}; // the last sample read: field name -> {value, confidence, review, reasons}
  const form = document.getElementById("ep-form");
  const none = document.getElementById("ep-none");
  const out = document.getElementById("tpl-msg");
  const optRows = document.getElementById("ep-opts");
  const snapBox = document.getElementById("ez-snap");
  const cursor = document.getElementById("ez-cursor");
  const MIN = 1; // mm: the smallest zone
  const SNAP = 1.5; // mm: an edge this near a ruled line goes onto it
  let selected = null; // index into fields: the zone the panel shows, and the one others align to
  let chosen = []; // every selected zone (Shift+click), `selected` first
  let drag = null;
  let dirty = false;
  let zoom = 1;
  let fitting = false; // the zoom follows the window's width

  const k = () => sheet.getBoundingClientRect().width / pageW; // screen pixels per millimetre
  const r1 = (v) => Math.round(v * 10) / 10;
  const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
  const pct = (v, of) => (v / of) * 100 + "%";
  const at = (ev) => {
    const r = sheet.getBoundingClientRect();
    return [(ev.clientX - r.left) / k(), (ev.clientY - r.top) / k()];
  };
  const kindOf = (f) => kinds[f.type] || {};

  // --- zoom ------------------------------------------------------------------------------------------

  const level = document.getElementById("ez-level");
  const fitZoom = () => Math.max(0.25, (wrap.clientWidth - 4) / (pageW * data.px_per_mm));

  // Zoom to z (1: the blank form's own pixels), keeping the point under `anchor` (client x, y) in place.
  function setZoom(z, anchor) {
    z = clamp(z, 0.25, 4);
    const w = wrap.getBoundingClientRect();
    const ax = anchor ? anchor[0] : w.left + wrap.clientWidth / 2;
    const ay = anchor ? anchor[1] : w.top + wrap.clientHeight / 2;
    const before = sheet.getBoundingClientRect();
    const mx = (ax - before.left) / k();
    const my = (ay - before.top) / k();
    zoom = z;
    sheet.style.width = pageW * data.px_per_mm * z + "px";
    sheet.style.height = pageH * data.px_per_mm * z + "px";
    const after = sheet.getBoundingClientRect();
    wrap.scrollLeft += after.left + mx * k() - ax;
    wrap.scrollTop += after.top + my * k() - ay;
    level.textContent = Math.round(z * 100) + " %";
  }
  const zoomTo = (z, anchor) => {
    fitting = false;
    setZoom(z, anchor);
  };
  const fit = () => {
    fitting = true;
    setZoom(fitZoom());
  };
  document.getElementById("ez-fit").addEventListener("click", fit);
  document.getElementById("ez-100").addEventListener("click", () => zoomTo(1));
  document.getElementById("ez-200").addEventListener("click", () => zoomTo(2));
  document.getElementById("ez-in").addEventListener("click", () => zoomTo(zoom * 1.25));
  document.getElementById("ez-out").addEventListener("click", () => zoomTo(zoom / 1.25));
  wrap.addEventListener(
    "wheel",
    (ev) => {
      if (!ev.ctrlKey) return;
      ev.preventDefault();
      zoomTo(zoom * (ev.deltaY < 0 ? 1.25 : 1 / 1.25), [ev.clientX, ev.clientY]);
    },
    { passive: false },
  );
  window.addEventListener("resize", () => {
    if (fitting) setZoom(fitZoom());
  });

  // --- snapping to the ruled lines ------------------------------------------------------------------

  // The ruled line nearest to one of `edges` (mm on one axis), among the lines of `list` ([pos, from,
  // to]) that pass beside [lo, hi] on the other axis; null if none is within SNAP.
  function nearest(list, edges, lo, hi) {
    let best = null;
    for (const line of list) {
      if (line[2] < lo - SNAP || line[1] > hi + SNAP) continue;
      for (const e of edges) {
        const d = line[0] - e;
        if (Math.abs(d) <= SNAP && (best === null || Math.abs(d) < Math.abs(best.d))) best = { d, line };
      }
    }
    return best;
  }

  function guides(found) {
    sheet.querySelectorAll(".eguide").forEach((el) => el.remove());
    found.forEach(([axis, line]) => {
      const el = document.createElement("div");
      el.className = "eguide " + axis;
      if (axis === "v") {
        el.style.left = pct(line[0], pageW);
        el.style.top = pct(line[1], pageH);
        el.style.height = pct(line[2] - line[1], pageH);
      } else {
        el.style.top = pct(line[0], pageH);
        el.style.left = pct(line[1], pageW);
        el.style.width = pct(line[2] - line[1], pageW);
      }
      sheet.appendChild(el);
    });
  }

  const snapping = (ev) => !ev.shiftKey && !!snapBox && snapBox.checked;

  // --- drawing ---------------------------------------------------------------------------------------

  const PARTS = { year: msgs.tpl_part_year, month: msgs.tpl_part_month, day: msgs.tpl_part_day, era: msgs.tpl_part_era };

  // The smaller boxes inside a field: an option's word or tick box, a date's year/month/day boxes, the
  // pieces of a value written between printed separators.
  function subs(f) {
    const list = [];
    (f.options || []).forEach((o) => {
      if (o.box) list.push({ label: o.label, box: o.box });
    });
    Object.entries(f.part_boxes || {}).forEach(([key, b]) => list.push({ label: PARTS[key] || key, box: b }));
    (f.pieces || []).forEach((b, j) => list.push({ label: "#" + (j + 1), box: b }));
    return list;
  }

  const fmt = (text, values) => Object.entries(values).reduce((t, [key, v]) => t.replace("{" + key + "}", v), text);

  function coverText(c) {
    return fmt(c.mark ? msgs.tpl_on_print_mark : msgs.tpl_on_print_detail, {
      pct: Math.round(c.share * 100) + "%",
      where: c.where,
    });
  }

  // The sample's value and confidence on a zone; a doubtful one (needs review) in red, with why.
  function readBadge(el, name) {
    const r = reads[name];
    if (!r) return;
    el.classList.add(r.review ? "rdoubt" : "rok");
    const badge = document.createElement("span");
    badge.className = "eread";
    badge.textContent = r.value + " · " + Math.round(r.confidence * 100) + "%";
    el.append(badge);
    el.title += "\n" + msgs.tpl_try_conf + " " + Math.round(r.confidence * 100) + "%: " + r.value;
    if (r.review) el.title += "\n" + msgs.tpl_try_review + (r.reasons.length ? ": " + r.reasons.join(" / ") : "");
  }

  function zone(i, box, text, sub, ghost) {
    const el = document.createElement("div");
    const f = ghost || fields[i];
    const cover = sub || ghost ? null : covers[f.name];
    el.className = "ez" + (sub ? " sub" : "") + (!ghost && i === selected ? " sel" : "") +
      (!ghost && i !== selected && chosen.includes(i) ? " chosen" : "") + (cover ? " warn" : "") +
      (ghost ? " ghost" : "");
    el.dataset.field = f.name;
    el.title = text;
    if (ghost) el.title += "\n" + fmt(msgs.tpl_group_copy, ghost.group);
    if (cover) el.title += "\n" + coverText(cover);
    el.style.left = pct(box[0], pageW);
    el.style.top = pct(box[1], pageH);
    el.style.width = pct(box[2], pageW);
    el.style.height = pct(box[3], pageH);
    const tag = document.createElement("span");
    tag.textContent = text;
    const handle = document.createElement("div");
    handle.className = "eh";
    el.append(tag, handle);
    if (cover) {
      const badge = document.createElement("span");
      badge.className = "ewarn";
      badge.textContent = "⚠ " + msgs.tpl_on_print;
      el.append(badge);
    }
    if (!sub) readBadge(el, f.name);
    if (!ghost) el.ref = { i, box, sub };
    sheet.appendChild(el);
  }

  const groupOf = (f) => groups.find((g) => g.fields.includes(f.name)) || null;
  const countOk = (g) => Number.isInteger(g.count) && g.count >= 2 && g.count <= 30;
  const stepOk = (g) => g.step.length === 2 && g.step.every((v) => Number.isFinite(v));

  // A group's blocks 2..count, as the server makes them (formkit.model.expand_groups): block 1's
  // fields moved by (block - 1) × step, named <field>_<block>. A copy written out as a field wins.
  function copies() {
    const names = new Set(fields.map((f) => f.name));
    const out = [];
    groups.forEach((g) => {
      if (!countOk(g) || !stepOk(g)) return;
      for (let b = 2; b <= g.count; b++) {
        g.fields.forEach((base) => {
          const f = fields.find((x) => x.name === base);
          const name = base + "_" + b;
          if (!f || names.has(name)) return;
          const dx = g.step[0] * (b - 1);
          const dy = g.step[1] * (b - 1);
          const moved = (box) => [r1(box[0] + dx), r1(box[1] + dy), box[2], box[3]];
          out.push({
            name, box: moved(f.box), subs: subs(f).map((s) => ({ label: s.label, box: moved(s.box) })),
            group: { name: g.name, label: g.label, block: b, base },
          });
        });
      }
    });
    return out;
  }

  function draw() {
    sheet.querySelectorAll(".ez").forEach((el) => el.remove());
    fields.forEach((f, i) => {
      zone(i, f.box, f.name, false);
      subs(f).forEach((s) => zone(i, s.box, s.label, true));
    });
    copies().forEach((c) => {
      zone(null, c.box, c.name, false, c);
      c.subs.forEach((s) => zone(null, s.box, s.label, true, c));
    });
  }

  // --- the side panel --------------------------------------------------------------------------------

  function optionInput(name, value, title, i) {
    const input = document.createElement("input");
    input.name = name;
    input.value = value;
    input.title = title;
    input.placeholder = title;
    input.setAttribute("aria-label", title);
    input.dataset.i = i;
    return input;
  }

  function options(f) {
    optRows.textContent = "";
    (f.options || []).forEach((o, i) => {
      const row = document.createElement("div");
      row.className = "eopt";
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "eopt-del";
      remove.textContent = "✕";
      remove.title = msgs.tpl_opt_remove;
      remove.setAttribute("aria-label", msgs.tpl_opt_remove);
      remove.dataset.i = i;
      row.append(
        optionInput("opt-value", o.value, msgs.tpl_opt_value, i),
        optionInput("opt-label", o.label, msgs.tpl_opt_label, i),
        remove,
      );
      optRows.appendChild(row);
    });
  }

  function fill() {
    form.hidden = selected === null;
    none.hidden = selected !== null;
    if (selected === null) return;
    const f = fields[selected];
    const kind = kindOf(f);
    const date = kind.shape === "date";
    const el = form.elements;
    el.name.value = f.name;
    const g = groupOf(f);
    el.name.readOnly = !!g; // block 1 of a group: its copies are named after it
    el.name.title = g ? fmt(msgs.tpl_group_base, { label: g.label }) : "";
    el.label.value = f.label;
    el.label_en.value = f.label_en || "";
    el.type.value = f.type;
    el.required.checked = !!f.required;
    el.rules.value = (f.rules || []).join("\n");
    ["x", "y", "w", "h"].forEach((c, j) => {
      el[c].value = f.box[j];
    });
    el.cells.value = f.cells == null ? "" : f.cells;
    document.getElementById("ep-cells-row").hidden = !kind.cells && f.cells == null;
    document.getElementById("ep-eras").hidden = !date;
    form.querySelectorAll("input[name=era]").forEach((c) => {
      c.checked = (f.eras || []).includes(c.value);
    });
    document.getElementById("ep-parts-row").hidden = !(date && data.legacy) || !!f.era_codes;
    el.parts.checked = Object.keys(f.part_boxes || {}).length > 0;
    document.getElementById("ep-options").hidden =
      !(kind.options || (date && data.legacy)) && !(f.options || []).length;
    options(f);
    el.examples.value = (f.examples || []).join("\n");
    const warn = document.getElementById("ep-warn");
    const cover = covers[f.name];
    warn.hidden = !cover;
    warn.textContent = cover ? "⚠ " + coverText(cover) : "";
    const read = document.getElementById("ep-read");
    const r = reads[f.name];
    read.hidden = !r;
    read.className = "eread-detail " + (r && r.review ? "rdoubt" : "rok");
    read.textContent = r
      ? r.value + "（" + msgs.tpl_try_conf + " " + Math.round(r.confidence * 100) + "%）" +
        (r.review ? "\n" + msgs.tpl_try_review + (r.reasons.length ? ": " + r.reasons.join(" / ") : "") : "")
      : "";
    document.getElementById("ep-multi").hidden = chosen.length < 2;
    document.getElementById("ep-multi-n").textContent = fmt(msgs.tpl_multi, { n: chosen.length });
    fillGroup();
  }

  function select(i) {
    selected = i;
    chosen = i === null ? [] : [i];
    draw();
    fill();
  }

  // Shift+click: a zone into the selection, or out of it (the next one becomes the panel's).
  function toggle(i) {
    if (selected === null) {
      select(i);
      return;
    }
    const at = chosen.indexOf(i);
    if (at === -1) chosen.push(i);
    else chosen.splice(at, 1);
    selected = chosen.length ? chosen[0] : null;
    draw();
    fill();
  }

  function changed() {
    dirty = true;
    out.textContent = "";
    out.className = "";
  }

  function say(text) {
    out.className = "error";
    out.textContent = text;
  }

  // `want` if no field has it, else the same stem with the next free number (name_2, name_3…).
  function freeName(want) {
    const names = new Set(fields.map((f) => f.name));
    if (!names.has(want)) return want;
    const m = want.match(/^(.*)_(\d+)$/);
    const stem = m ? m[1] : want;
    let n = m ? Number(m[2]) : 1;
    do n++;
    while (names.has(stem + "_" + n));
    return stem + "_" + n;
  }

  function newName() {
    const names = new Set(fields.map((f) => f.name));
    let n = fields.length + 1;
    while (names.has("field_" + n)) n++;
    return "field_" + n;
  }

  // A copy of a field for the server: it starts from the file's own field (hint, unit… kept).
  function copyOf(f) {
    const c = JSON.parse(JSON.stringify(f));
    c.orig = null;
    c.copy_of = f.orig || f.copy_of || null;
    return c;
  }

  function duplicate() {
    if (selected === null) return;
    const f = fields[selected];
    const c = copyOf(f);
    c.name = freeName(f.name + "_2");
    const dx = f.box[0] + f.box[2] + 2 <= pageW ? 2 : -2;
    const dy = f.box[1] + f.box[3] + 2 <= pageH ? 2 : -2;
    [c.box, ...subs(c).map((s) => s.box)].forEach((b) => {
      b[0] = r1(b[0] + dx);
      b[1] = r1(b[1] + dy);
    });
    fields.splice(selected + 1, 0, c);
    selected += 1;
    chosen = [selected];
    changed();
    draw();
    fill();
  }

  // Two fields side by side where one was: at the x typed (page mm), else in the middle; a comb's
  // cells are shared out and the cut goes on a cell boundary.
  function split() {
    if (selected === null) return;
    const f = fields[selected];
    const shape = kindOf(f).shape;
    const g = groupOf(f);
    if (g) {
      say(fmt(msgs.tpl_group_base, { label: g.label }));
      return;
    }
    if (
      (f.options || []).length || Object.keys(f.part_boxes || {}).length || (f.pieces || []).length ||
      !["line", "comb"].includes(shape)
    ) {
      say(msgs.tpl_split_refused);
      return;
    }
    const [x, y, w, h] = f.box;
    const typed = document.getElementById("ep-split-at").value.trim();
    let cut = typed === "" ? x + w / 2 : parseFloat(typed);
    if (!Number.isFinite(cut) || cut < x + MIN || cut > x + w - MIN) {
      say(msgs.tpl_split_outside);
      return;
    }
    let cells = null;
    if (f.cells) {
      if (f.cells < 2) {
        say(msgs.tpl_split_cells);
        return;
      }
      const left = clamp(Math.round((f.cells * (cut - x)) / w), 1, f.cells - 1);
      cells = [left, f.cells - left];
      cut = x + (w * left) / f.cells;
    }
    cut = r1(cut);
    const right = copyOf(f);
    const stem = f.name;
    f.name = freeName(stem + "_1");
    right.name = freeName(stem + "_2");
    f.box = [x, y, r1(cut - x), h];
    right.box = [cut, y, r1(x + w - cut), h];
    if (cells) [f.cells, right.cells] = cells;
    fields.splice(selected + 1, 0, right);
    chosen = [selected];
    changed();
    draw();
    fill();
  }

  function addOption() {
    if (selected === null) return;
    const f = fields[selected];
    f.options = f.options || [];
    const taken = new Set(f.options.map((o) => o.value));
    let value;
    if (kindOf(f).shape === "date") {
      value = [...(f.eras || [])].reverse().find((e) => !taken.has(e)) || "";
    } else {
      let n = f.options.length + 1;
      while (taken.has(String(n))) n++;
      value = String(n);
    }
    const o = { orig: null, value, label: value, box: null };
    if (data.legacy) {
      // Beside the last option's box, or in the field's top-left corner.
      const last = f.options.filter((p) => p.box).slice(-1)[0];
      const b = f.box;
      const nb = last
        ? [last.box[0] + last.box[2] + 1, last.box[1], last.box[2], last.box[3]]
        : [b[0] + 1, b[1] + 0.5, Math.max(MIN, Math.min(10, b[2] / 4)), Math.max(MIN, b[3] - 1)];
      nb[0] = clamp(nb[0], 0, pageW - nb[2]);
      o.box = nb.map(r1);
    }
    f.options.push(o);
    changed();
    draw();
    fill();
  }

  function removeOption(i) {
    fields[selected].options.splice(i, 1);
    changed();
    draw();
    fill();
  }

  // --- pointer ---------------------------------------------------------------------------------------

  sheet.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    const el = ev.target.closest(".ez:not(.ghost)"); // a group's further block is paper here
    const p = at(ev);
    if (document.activeElement instanceof HTMLElement) document.activeElement.blur(); // keys nudge the zone
    if (el) {
      const { i, box, sub } = el.ref;
      const boxesOf = (j) => [fields[j].box, ...subs(fields[j]).map((s) => s.box)];
      // A zone of a multiple selection takes the others along; Shift+click adds or removes one.
      const together = !sub && chosen.length > 1 && chosen.includes(i);
      let moving = sub ? [box] : boxesOf(i);
      if (together) chosen.filter((j) => j !== i).forEach((j) => moving.push(...boxesOf(j)));
      const orig = moving.map((b) => b.slice());
      drag = {
        mode: ev.target.classList.contains("eh") ? "resize" : "move",
        box, start: p, moving, orig, moved: false,
        // The boxes together may go as far as the paper's edge, no further.
        bound: [
          Math.min(...orig.map((b) => b[0])), Math.min(...orig.map((b) => b[1])),
          Math.max(...orig.map((b) => b[0] + b[2])), Math.max(...orig.map((b) => b[1] + b[3])),
        ],
        toggle: ev.shiftKey && selected !== null && !sub ? i : null,
      };
      if (drag.toggle === null && i !== selected && !together) select(i);
    } else {
      if (snapping(ev)) {
        const sx = nearest(lines.v, [p[0]], p[1], p[1]);
        const sy = nearest(lines.h, [p[1]], p[0], p[0]);
        if (sx) p[0] = sx.line[0];
        if (sy) p[1] = sy.line[0];
      }
      drag = { mode: "new", start: p, moved: false };
    }
    sheet.setPointerCapture(ev.pointerId);
    ev.preventDefault();
  });

  sheet.addEventListener("pointermove", (ev) => {
    const p = at(ev);
    if (cursor) cursor.textContent = `x ${p[0].toFixed(1)}  y ${p[1].toFixed(1)} mm`;
    if (!drag) return;
    let dx = r1(p[0] - drag.start[0]);
    let dy = r1(p[1] - drag.start[1]);
    if (!drag.moved && Math.abs(dx) < 0.5 && Math.abs(dy) < 0.5) return; // a click, not a drag
    drag.moved = true;
    const snap = snapping(ev);
    const found = [];
    if (drag.mode === "move") {
      const o = drag.orig[0];
      const [bx0, by0, bx1, by1] = drag.bound;
      const fx = (d) => clamp(d, -bx0, pageW - bx1);
      const fy = (d) => clamp(d, -by0, pageH - by1);
      dx = fx(dx);
      dy = fy(dy);
      if (snap) {
        const sx = nearest(lines.v, [o[0] + dx, o[0] + o[2] + dx], o[1] + dy, o[1] + o[3] + dy);
        const sy = nearest(lines.h, [o[1] + dy, o[1] + o[3] + dy], o[0] + dx, o[0] + o[2] + dx);
        if (sx) {
          dx = fx(dx + sx.d);
          found.push(["v", sx.line]);
        }
        if (sy) {
          dy = fy(dy + sy.d);
          found.push(["h", sy.line]);
        }
      }
      drag.moving.forEach((b, j) => {
        b[0] = r1(drag.orig[j][0] + dx);
        b[1] = r1(drag.orig[j][1] + dy);
      });
    } else if (drag.mode === "resize") {
      const o = drag.orig[0];
      let x2 = o[0] + clamp(o[2] + dx, MIN, pageW - o[0]);
      let y2 = o[1] + clamp(o[3] + dy, MIN, pageH - o[1]);
      if (snap) {
        const sx = nearest(lines.v, [x2], o[1], y2);
        const sy = nearest(lines.h, [y2], o[0], x2);
        if (sx && sx.line[0] - o[0] >= MIN) {
          x2 = sx.line[0];
          found.push(["v", sx.line]);
        }
        if (sy && sy.line[0] - o[1] >= MIN) {
          y2 = sy.line[0];
          found.push(["h", sy.line]);
        }
      }
      drag.box[2] = r1(x2 - o[0]);
      drag.box[3] = r1(y2 - o[1]);
    } else {
      if (!drag.box) {
        const f = {
          orig: null, name: newName(), label: msgs.tpl_new_label, label_en: "", type: "text",
          required: false, rules: [], box: [0, 0, MIN, MIN], cells: null, eras: [], examples: [],
          options: [], part_boxes: {}, pieces: [],
        };
        fields.push(f);
        drag.box = f.box;
        selected = fields.length - 1;
      }
      let x = clamp(p[0], 0, pageW);
      let y = clamp(p[1], 0, pageH);
      if (snap) {
        const s = drag.start;
        const sx = nearest(lines.v, [x], Math.min(y, s[1]), Math.max(y, s[1]));
        const sy = nearest(lines.h, [y], Math.min(x, s[0]), Math.max(x, s[0]));
        if (sx) {
          x = sx.line[0];
          found.push(["v", sx.line]);
        }
        if (sy) {
          y = sy.line[0];
          found.push(["h", sy.line]);
        }
      }
      drag.box[0] = r1(Math.min(x, drag.start[0]));
      drag.box[1] = r1(Math.min(y, drag.start[1]));
      drag.box[2] = r1(Math.max(Math.abs(x - drag.start[0]), MIN));
      drag.box[3] = r1(Math.max(Math.abs(y - drag.start[1]), MIN));
    }
    changed();
    draw();
    guides(found);
  });

  const stop = () => {
    if (!drag) return;
    if (drag.mode === "new" && !drag.moved) {
      selected = null; // a click on empty paper
      chosen = [];
    } else if (drag.mode === "new") {
      chosen = [selected];
    } else if (drag.toggle !== null && !drag.moved) {
      const i = drag.toggle;
      drag = null;
      toggle(i);
      return;
    }
    drag = null;
    guides([]);
    draw();
    fill();
  };
  sheet.addEventListener("pointerup", stop);
  sheet.addEventListener("pointercancel", stop);

  // --- the panel's inputs ----------------------------------------------------------------------------

  form.addEventListener("input", (ev) => {
    if (selected === null) return;
    const f = fields[selected];
    const el = ev.target;
    if (!el.name) return;
    const v = el.type === "checkbox" ? el.checked : el.value;
    if (["x", "y", "w", "h"].includes(el.name)) {
      const n = parseFloat(v);
      if (!Number.isFinite(n)) return;
      f.box["xywh".indexOf(el.name)] = r1(n);
    } else if (el.name === "rules") {
      f.rules = v.split("\n").map((s) => s.trim()).filter(Boolean);
    } else if (el.name === "examples") {
      f.examples = v.split("\n").map((s) => s.trim()).filter(Boolean);
    } else if (el.name === "name") {
      f.name = v.trim();
    } else if (el.name === "cells") {
      const n = Number(v);
      f.cells = v.trim() !== "" && Number.isInteger(n) && n > 0 ? n : null;
    } else if (el.name === "era") {
      f.eras = [...form.querySelectorAll("input[name=era]:checked")].map((c) => c.value);
    } else if (el.name === "parts") {
      const [x, y, w, h] = f.box;
      const third = w / 3;
      f.part_boxes = v
        ? {
          year: [x, y, third, h].map(r1),
          month: [x + third, y, third, h].map(r1),
          day: [x + 2 * third, y, third, h].map(r1),
        }
        : {};
    } else if (el.name === "opt-value" || el.name === "opt-label") {
      f.options[Number(el.dataset.i)][el.name.slice(4)] = v;
    } else if (el.name === "type") {
      f.type = v;
      fill(); // the inputs this kind has
    } else {
      f[el.name] = v;
    }
    changed();
    draw();
  });
  form.addEventListener("submit", (ev) => ev.preventDefault());
  optRows.addEventListener("click", (ev) => {
    const button = ev.target.closest(".eopt-del");
    if (button) removeOption(Number(button.dataset.i));
  });
  document.getElementById("ep-opt-add").addEventListener("click", addOption);
  document.getElementById("ep-duplicate").addEventListener("click", duplicate);
  document.getElementById("ep-split").addEventListener("click", split);

  function remove() {
    if (selected === null) return;
    const g = groupOf(fields[selected]);
    if (g) {
      say(fmt(msgs.tpl_group_base, { label: g.label }));
      return;
    }
    fields.splice(selected, 1);
    selected = null;
    chosen = [];
    changed();
    draw();
    fill();
  }
  document.getElementById("ep-delete").addEventListener("click", remove);

  // --- aligning several zones ---------------------------------------------------------------------

  // A field's zone moved by (dx, dy) mm with its option, part and piece boxes.
  function shift(f, dx, dy) {
    [f.box, ...subs(f).map((s) => s.box)].forEach((b) => {
      b[0] = r1(b[0] + dx);
      b[1] = r1(b[1] + dy);
    });
  }

  // Equal gaps between the zones along one axis (0: across, 1: down), the outer two staying put.
  function spread(axis) {
    const list = chosen.map((j) => fields[j]).sort((a, b) => a.box[axis] - b.box[axis]);
    if (list.length < 3) return;
    const first = list[0].box;
    const last = list[list.length - 1].box;
    const span = last[axis] + last[axis + 2] - first[axis];
    const gap = (span - list.reduce((sum, f) => sum + f.box[axis + 2], 0)) / (list.length - 1);
    let pos = first[axis];
    list.forEach((f) => {
      const d = pos - f.box[axis];
      shift(f, axis === 0 ? d : 0, axis === 1 ? d : 0);
      pos += f.box[axis + 2] + gap;
    });
  }

  // Left or top edges, width or height as the zone selected first; or spaced evenly.
  function align(how) {
    if (chosen.length < 2) return;
    const ref = fields[selected].box;
    const others = chosen.filter((j) => j !== selected).map((j) => fields[j]);
    if (how === "left") others.forEach((f) => shift(f, ref[0] - f.box[0], 0));
    else if (how === "top") others.forEach((f) => shift(f, 0, ref[1] - f.box[1]));
    else if (how === "width") others.forEach((f) => { f.box[2] = clamp(ref[2], MIN, pageW - f.box[0]); });
    else if (how === "height") others.forEach((f) => { f.box[3] = clamp(ref[3], MIN, pageH - f.box[1]); });
    else if (how === "across") spread(0);
    else if (how === "down") spread(1);
    changed();
    draw();
    fill();
  }
  const ALIGN_KEYS = { l: "left", t: "top", w: "width", h: "height", x: "across", y: "down" };
  [["ea-left", "left"], ["ea-top", "top"], ["ea-width", "width"], ["ea-height", "height"],
    ["ea-across", "across"], ["ea-down", "down"]].forEach(([id, how]) => {
    document.getElementById(id).addEventListener("click", () => align(how));
  });

  // --- groups -------------------------------------------------------------------------------------

  const gIn = (id) => document.getElementById(id);
  const GROUP_NAME = /^[a-z][a-z0-9_]*$/;
  let draft = null; // the settings of a group about to be made from the selection

  function freeGroupName() {
    const taken = new Set(groups.map((g) => g.name));
    let n = 1;
    while (taken.has("group_" + n)) n++;
    return "group_" + n;
  }

  // A new group's first guess: the selection repeated once just below itself (or beside it).
  function newDraft() {
    const boxes = chosen.map((j) => fields[j].box);
    const x0 = Math.min(...boxes.map((b) => b[0]));
    const y0 = Math.min(...boxes.map((b) => b[1]));
    const w = Math.max(...boxes.map((b) => b[0] + b[2])) - x0;
    const h = Math.max(...boxes.map((b) => b[1] + b[3])) - y0;
    const step = y0 + 2 * h <= pageH ? [0, r1(h)] : [r1(w), 0];
    return { orig: null, name: freeGroupName(), label: msgs.tpl_group_new_name, fields: [], count: 2, step };
  }

  function fillGroup() {
    const f = fields[selected];
    const g = groupOf(f);
    const free = chosen.map((j) => fields[j]).filter((x) => !groupOf(x));
    if (!g && (!draft || draft.key !== chosen.join(","))) draft = { ...newDraft(), key: chosen.join(",") };
    const shown = g || draft;
    gIn("eg-of").hidden = !g;
    gIn("eg-of").textContent = g ? fmt(msgs.tpl_group_of, { label: g.label, n: g.fields.length, count: g.count }) : "";
    gIn("eg-help").hidden = !!g;
    gIn("eg-name").value = shown.name;
    gIn("eg-label").value = shown.label;
    gIn("eg-count").value = shown.count;
    gIn("eg-dx").value = shown.step[0];
    gIn("eg-dy").value = shown.step[1];
    gIn("eg-fields").textContent = g ? g.fields.join(", ") : "";
    gIn("eg-make").hidden = !!g;
    gIn("eg-add").hidden = !g || !free.length;
    gIn("eg-leave").hidden = !g;
    gIn("eg-delete").hidden = !g;
  }

  // The panel's group inputs: a group's count and step redraw its copies at once.
  ["eg-name", "eg-label", "eg-count", "eg-dx", "eg-dy"].forEach((id) => {
    gIn(id).addEventListener("input", (ev) => {
      ev.stopPropagation(); // not a field's input
      if (selected === null) return;
      const g = groupOf(fields[selected]) || draft;
      const v = gIn(id).value;
      if (id === "eg-name") g.name = v.trim();
      else if (id === "eg-label") g.label = v;
      else if (id === "eg-count") g.count = v.trim() === "" ? NaN : Number(v);
      else g.step[id === "eg-dx" ? 0 : 1] = v.trim() === "" ? NaN : Number(v);
      if (g !== draft) {
        changed();
        draw();
        gIn("eg-of").textContent = fmt(msgs.tpl_group_of, { label: g.label, n: g.fields.length, count: g.count });
      }
    });
  });

  function groupChanged() {
    changed();
    draw();
    fill();
  }

  gIn("eg-make").addEventListener("click", () => {
    if (selected === null || !draft) return;
    const members = chosen.map((j) => fields[j]);
    if (members.some((f) => groupOf(f))) {
      say(msgs.tpl_group_taken);
      return;
    }
    if (!GROUP_NAME.test(draft.name)) {
      say(msgs.tpl_group_bad);
      return;
    }
    const { key, ...g } = draft;
    g.fields = members.map((f) => f.name);
    groups.push(g);
    draft = null;
    groupChanged();
  });
  gIn("eg-add").addEventListener("click", () => {
    const g = groupOf(fields[selected]);
    if (!g) return;
    chosen.map((j) => fields[j]).filter((f) => !groupOf(f)).forEach((f) => g.fields.push(f.name));
    groupChanged();
  });
  gIn("eg-leave").addEventListener("click", () => {
    const f = fields[selected];
    const g = groupOf(f);
    if (!g) return;
    g.fields = g.fields.filter((n) => n !== f.name);
    if (!g.fields.length) groups = groups.filter((x) => x !== g); // a group of no field is none
    groupChanged();
  });
  gIn("eg-delete").addEventListener("click", () => {
    const g = groupOf(fields[selected]);
    if (!g) return;
    groups = groups.filter((x) => x !== g);
    groupChanged();
  });

  document.addEventListener("keydown", (ev) => {
    if (ev.target.closest("input, textarea, select")) return;
    if (!ev.ctrlKey && !ev.metaKey && !ev.altKey && ["+", "=", "-"].includes(ev.key)) {
      ev.preventDefault();
      zoomTo(ev.key === "-" ? zoom / 1.25 : zoom * 1.25);
      return;
    }
    if (selected === null) return;
    if ((ev.ctrlKey || ev.metaKey) && (ev.key === "d" || ev.key === "D")) {
      ev.preventDefault(); // not the browser's bookmark
      duplicate();
      return;
    }
    if (ev.target.closest("button")) return;
    const how = ALIGN_KEYS[ev.key.toLowerCase()];
    if (how && chosen.length > 1 && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
      ev.preventDefault();
      align(how);
      return;
    }
    if (ev.key === "Delete" || ev.key === "Backspace") {
      ev.preventDefault();
      remove();
      return;
    }
    const step = ev.shiftKey ? 1 : 0.1;
    const d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[ev.key];
    if (!d) return;
    ev.preventDefault();
    chosen.forEach((j) => shift(fields[j], d[0], d[1]));
    changed();
    draw();
    fill();
  });

  // --- saving ----------------------------------------------------------------------------------------

  // The groups as the server takes them (a count or step not typed as a number goes as null and is
  // refused there, with its reason).
  const num = (v) => (Number.isFinite(v) ? v : null);
  const plainGroups = () =>
    groups.map((g) => ({
      orig: g.orig || null, name: g.name, label: g.label, fields: g.fields, count: num(g.count),
      step: g.step.map(num),
    }));

  document.getElementById("tpl-save").addEventListener("click", async () => {
    out.className = "";
    out.textContent = msgs.tpl_saving;
    let res = null;
    let body = {};
    try {
      res = await fetch(data.save_url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": data.csrf },
        // A group's further blocks are made from block 1 on the server: not sent.
        body: JSON.stringify({ base: data.base, fields, groups: plainGroups() }),
        credentials: "same-origin",
      });
      body = await res.json();
    } catch (e) {
      body = {};
    }
    if (res && res.ok && body.ok) {
      data.base = body.base;
      const name = selected === null ? null : fields[selected].name;
      fields = body.fields.filter((f) => !f.group);
      groups = body.groups || [];
      covers = body.covers || {};
      selected = name === null ? null : fields.findIndex((f) => f.name === name);
      if (selected === -1) selected = null;
      chosen = selected === null ? [] : [selected];
      dirty = false;
      document.getElementById("eimg").src = data.image_url + "?v=" + data.base.slice(0, 12);
      draw();
      fill();
      out.className = "notice";
      out.textContent = body.message;
    } else {
      out.className = "error";
      out.textContent = body.error || msgs.tpl_save_failed;
    }
  });

  // --- reading a sample with the zones as they are -------------------------------------------------

  const run = document.getElementById("et-run");
  if (run) {
    const tryMsg = document.getElementById("et-msg");
    const clear = document.getElementById("et-clear");
    run.addEventListener("click", async () => {
      run.disabled = true;
      sheet.classList.add("busy");
      sheet.setAttribute("aria-busy", "true");
      tryMsg.className = "busy";
      tryMsg.textContent = msgs.tpl_try_reading;
      let res = null;
      let body = {};
      try {
        res = await fetch(data.try_url, {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": data.csrf },
          body: JSON.stringify({ sample: document.getElementById("et-sample").value, fields, groups: plainGroups() }),
          credentials: "same-origin",
        });
        body = await res.json();
      } catch (e) {
        body = {};
      }
      run.disabled = false;
      sheet.classList.remove("busy");
      sheet.removeAttribute("aria-busy");
      if (res && res.ok && body.ok) {
        reads = body.fields || {};
        const all = Object.values(reads);
        tryMsg.className = "notice";
        tryMsg.textContent = fmt(msgs.tpl_try_done, { n: all.length, r: all.filter((r) => r.review).length });
        clear.hidden = false;
      } else {
        reads = {};
        tryMsg.className = "error";
        tryMsg.textContent = body.error || msgs.tpl_try_failed;
      }
      draw();
      fill();
    });
    clear.addEventListener("click", () => {
      reads = {};
      tryMsg.textContent = "";
      tryMsg.className = "";
      clear.hidden = true;
      draw();
      fill();
    });
  }

  window.addEventListener("beforeunload", (ev) => {
    if (!dirty) return;
    ev.preventDefault();
    ev.returnValue = msgs.tpl_unsaved;
  });

  // A4 at the blank form's own size where it fits, anything wider (A3) to the width of the window.
  const start = fitZoom();
  if (start < 1) fit();
  else setZoom(1);
  draw();
  fill();
})();
