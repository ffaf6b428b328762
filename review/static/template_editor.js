// Template editor: drag a zone to move it, drag its corner to resize it, drag on empty paper to add a
// field, click a zone to edit it in the side panel, Delete to remove it, arrow keys to nudge (Shift: 1 mm).
// Millimetres in the data, pixels only on screen. No framework, no build step.
(function () {
  "use strict";
  const sheet = document.getElementById("esheet");
  if (!sheet) return;
  const data = JSON.parse(document.getElementById("tpl-data").textContent);
  const msgs = data.messages;
  const pageW = data.page.w;
  const pageH = data.page.h;
  let fields = data.fields;
  const form = document.getElementById("ep-form");
  const none = document.getElementById("ep-none");
  const out = document.getElementById("tpl-msg");
  const MIN = 1; // mm: the smallest zone
  let selected = null; // index into fields
  let drag = null;
  let dirty = false;

  const k = () => sheet.clientWidth / pageW; // screen pixels per millimetre
  const r1 = (v) => Math.round(v * 10) / 10;
  const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
  const at = (ev) => {
    const r = sheet.getBoundingClientRect();
    return [(ev.clientX - r.left) / k(), (ev.clientY - r.top) / k()];
  };

  // The smaller boxes inside a field: an option's word or tick box, a date's year/month/day boxes.
  function subs(f) {
    const list = [];
    (f.options || []).forEach((o) => { if (o.box) list.push({ label: o.label, box: o.box }); });
    Object.entries(f.part_boxes || {}).forEach(([key, b]) => list.push({ label: key, box: b }));
    return list;
  }

  function zone(i, box, text, sub) {
    const el = document.createElement("div");
    el.className = "ez" + (sub ? " sub" : "") + (i === selected ? " sel" : "");
    el.dataset.field = fields[i].name;
    el.title = text;
    const s = k();
    el.style.left = box[0] * s + "px";
    el.style.top = box[1] * s + "px";
    el.style.width = box[2] * s + "px";
    el.style.height = box[3] * s + "px";
    const tag = document.createElement("span");
    tag.textContent = text;
    const handle = document.createElement("div");
    handle.className = "eh";
    el.append(tag, handle);
    el.ref = { i, box, sub };
    sheet.appendChild(el);
  }

  function draw() {
    sheet.querySelectorAll(".ez").forEach((el) => el.remove());
    fields.forEach((f, i) => {
      zone(i, f.box, f.name, false);
      subs(f).forEach((s) => zone(i, s.box, s.label, true));
    });
  }

  function fill() {
    form.hidden = selected === null;
    none.hidden = selected !== null;
    if (selected === null) return;
    const f = fields[selected];
    const el = form.elements;
    el.name.value = f.name;
    el.label.value = f.label;
    el.label_en.value = f.label_en || "";
    el.type.value = f.type;
    el.required.checked = !!f.required;
    el.rules.value = (f.rules || []).join("\n");
    ["x", "y", "w", "h"].forEach((c, j) => { el[c].value = f.box[j]; });
  }

  function select(i) {
    selected = i;
    draw();
    fill();
  }

  function changed() {
    dirty = true;
    out.textContent = "";
    out.className = "";
  }

  function newName() {
    const names = new Set(fields.map((f) => f.name));
    let n = fields.length + 1;
    while (names.has("field_" + n)) n++;
    return "field_" + n;
  }

  sheet.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    const el = ev.target.closest(".ez");
    const p = at(ev);
    if (document.activeElement instanceof HTMLElement) document.activeElement.blur(); // keys nudge the zone
    if (el) {
      const { i, box, sub } = el.ref;
      const moving = sub ? [box] : [box, ...subs(fields[i]).map((s) => s.box)];
      drag = {
        mode: ev.target.classList.contains("eh") ? "resize" : "move",
        box, start: p, moving, orig: moving.map((b) => b.slice()), moved: false,
      };
      if (i !== selected) select(i);
    } else {
      drag = { mode: "new", start: p, moved: false };
    }
    sheet.setPointerCapture(ev.pointerId);
    ev.preventDefault();
  });

  sheet.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const p = at(ev);
    let dx = r1(p[0] - drag.start[0]);
    let dy = r1(p[1] - drag.start[1]);
    if (!drag.moved && Math.abs(dx) < 0.5 && Math.abs(dy) < 0.5) return; // a click, not a drag
    drag.moved = true;
    if (drag.mode === "move") {
      const o = drag.orig[0];
      dx = clamp(dx, -o[0], pageW - o[0] - o[2]);
      dy = clamp(dy, -o[1], pageH - o[1] - o[3]);
      drag.moving.forEach((b, j) => {
        b[0] = r1(drag.orig[j][0] + dx);
        b[1] = r1(drag.orig[j][1] + dy);
      });
    } else if (drag.mode === "resize") {
      const o = drag.orig[0];
      drag.box[2] = r1(clamp(o[2] + dx, MIN, pageW - o[0]));
      drag.box[3] = r1(clamp(o[3] + dy, MIN, pageH - o[1]));
    } else {
      if (!drag.box) {
        const f = {
          orig: null, name: newName(), label: msgs.tpl_new_label, label_en: "", type: "text",
          required: false, rules: [], box: [0, 0, MIN, MIN], options: [], part_boxes: {},
        };
        fields.push(f);
        drag.box = f.box;
        selected = fields.length - 1;
      }
      const x = clamp(p[0], 0, pageW);
      const y = clamp(p[1], 0, pageH);
      drag.box[0] = r1(Math.min(x, drag.start[0]));
      drag.box[1] = r1(Math.min(y, drag.start[1]));
      drag.box[2] = r1(Math.max(Math.abs(x - drag.start[0]), MIN));
      drag.box[3] = r1(Math.max(Math.abs(y - drag.start[1]), MIN));
    }
    changed();
    draw();
  });

  const stop = () => {
    if (!drag) return;
    if (drag.mode === "new" && !drag.moved) selected = null; // a click on empty paper
    drag = null;
    draw();
    fill();
  };
  sheet.addEventListener("pointerup", stop);
  sheet.addEventListener("pointercancel", stop);

  form.addEventListener("input", (ev) => {
    if (selected === null) return;
    const f = fields[selected];
    const el = ev.target;
    const v = el.type === "checkbox" ? el.checked : el.value;
    if (["x", "y", "w", "h"].includes(el.name)) {
      const n = parseFloat(v);
      if (!Number.isFinite(n)) return;
      f.box["xywh".indexOf(el.name)] = r1(n);
    } else if (el.name === "rules") {
      f.rules = v.split("\n").map((s) => s.trim()).filter(Boolean);
    } else if (el.name === "name") {
      f.name = v.trim();
    } else {
      f[el.name] = v;
    }
    changed();
    draw();
  });
  form.addEventListener("submit", (ev) => ev.preventDefault());

  function remove() {
    if (selected === null) return;
    fields.splice(selected, 1);
    selected = null;
    changed();
    draw();
    fill();
  }
  document.getElementById("ep-delete").addEventListener("click", remove);

  document.addEventListener("keydown", (ev) => {
    if (selected === null || ev.target.closest("input, textarea, select, button")) return;
    if (ev.key === "Delete" || ev.key === "Backspace") {
      ev.preventDefault();
      remove();
      return;
    }
    const step = ev.shiftKey ? 1 : 0.1;
    const d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[ev.key];
    if (!d) return;
    ev.preventDefault();
    const f = fields[selected];
    [f.box, ...subs(f).map((s) => s.box)].forEach((b) => {
      b[0] = r1(b[0] + d[0]);
      b[1] = r1(b[1] + d[1]);
    });
    changed();
    draw();
    fill();
  });

  document.getElementById("tpl-save").addEventListener("click", async () => {
    out.className = "";
    out.textContent = msgs.tpl_saving;
    let res = null;
    let body = {};
    try {
      res = await fetch(data.save_url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": data.csrf },
        body: JSON.stringify({ base: data.base, fields }),
        credentials: "same-origin",
      });
      body = await res.json();
    } catch (e) {
      body = {};
    }
    if (res && res.ok && body.ok) {
      data.base = body.base;
      const name = selected === null ? null : fields[selected].name;
      fields = body.fields;
      selected = name === null ? null : fields.findIndex((f) => f.name === name);
      if (selected === -1) selected = null;
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

  window.addEventListener("beforeunload", (ev) => {
    if (!dirty) return;
    ev.preventDefault();
    ev.returnValue = msgs.tpl_unsaved;
  });
  window.addEventListener("resize", draw);

  draw();
  fill();
})();
