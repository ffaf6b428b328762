// 書かない窓口: keyboard-first entry at the counter. Staff keep their hands on the keyboard while they
// talk to the visitor: Enter moves to the next field in the paper's order (and prints after the last
// one), digits pick an option, each field is checked by the server as soon as it changes, a postal
// code fills in the address's prefecture, city and town, and the person's own data carry over to the
// visit's next procedure. Nothing typed is stored by this script; reasons are shown as text, never as
// HTML. No build step, no framework.
(function () {
  "use strict";
  const form = document.getElementById("counter-form");
  if (!form) return;
  const csrf = form.querySelector("input[name=csrf]").value;
  const sections = Array.from(form.querySelectorAll("section.procedure"));
  const rows = Array.from(form.querySelectorAll("tr.field"));
  const fixFirst = document.getElementById("fix-first");
  const printed = document.getElementById("printed");
  const openPdf = document.getElementById("open-pdf");
  const savePdf = document.getElementById("save-pdf");
  const started = new Map(); // section -> performance.now() at its first keystroke
  const touched = new WeakSet(); // rows whose reasons are shown (changed, or passed with Enter)
  const timers = new Map(); // section -> pending check
  const asked = new Map(); // section -> number of the latest check sent (older answers are dropped)
  let pdfUrl = null;
  let busy = false;

  const sectionOf = (el) => el.closest("section.procedure");
  const rowOf = (el) => el.closest("tr.field");
  const controls = (row) => Array.from(row.querySelectorAll("input"));
  const squash = (s) => (s || "").replace(/[\s\u3000]+/g, "");
  const POSTAL_ALONE = /^〒?\s*[0-9]{3}-?[0-9]{4}$/;

  // Where the cursor goes in a row: the text box, the chosen option, or the first option.
  function focusRow(row) {
    const inputs = controls(row);
    const el = (row.dataset.mode === "one" && inputs.find((i) => i.checked)) || inputs[0];
    if (!el) return;
    el.focus();
    if (el.classList.contains("value")) el.setSelectionRange(el.value.length, el.value.length);
  }

  function entries(sec) {
    const body = new FormData();
    body.append("form", sec.dataset.form);
    sec.querySelectorAll("tr.field input").forEach((i) => {
      if ((i.type === "checkbox" || i.type === "radio") && !i.checked) return;
      body.append(i.name, i.value);
    });
    return body;
  }

  function showAnswer(sec, data) {
    sec.querySelectorAll("tr.field").forEach((row) => {
      const f = data.fields[row.dataset.field] || { reasons: [], shown: "" };
      const visible = touched.has(row) ? f.reasons : [];
      row.querySelector(".reasons").replaceChildren(
        ...visible.map((text) => {
          const d = document.createElement("div");
          d.className = "reason input-error";
          d.textContent = text;
          return d;
        }),
      );
      row.classList.toggle("bad", visible.length > 0);
      const input = row.querySelector("input.value");
      const shown = row.querySelector(".shown");
      if (input && shown) {
        shown.textContent = f.shown && squash(f.shown) !== squash(input.value) ? "→ " + f.shown : "";
      }
    });
    for (const [name, text] of Object.entries(data.fill || {})) {
      const input = sec.querySelector(`tr.field[data-field="${CSS.escape(name)}"] input.value`);
      // Empty, or a postal code alone (an agent's address): the place replaces it.
      if (!input || (input.value && !POSTAL_ALONE.test(input.value.normalize("NFKC").trim()))) continue;
      input.value = text;
      input.dataset.filled = "1";
      if (document.activeElement === input) input.setSelectionRange(text.length, text.length);
      carry(input);
    }
  }

  async function check(sec) {
    clearTimeout(timers.get(sec));
    const n = (asked.get(sec) || 0) + 1;
    asked.set(sec, n);
    const resp = await fetch(form.dataset.check, {
      method: "POST",
      body: entries(sec),
      headers: { "X-CSRF-Token": csrf },
      credentials: "same-origin",
    });
    const type = resp.headers.get("content-type") || "";
    if (!resp.ok || !type.startsWith("application/json")) return null; // a session ended: the login page
    const data = await resp.json();
    if (asked.get(sec) === n) showAnswer(sec, data);
    return data;
  }

  function schedule(sec, delay) {
    clearTimeout(timers.get(sec));
    timers.set(sec, setTimeout(() => check(sec), delay === undefined ? 80 : delay));
  }

  // The person's own data (name, kana, address, dates, phone) go to the visit's later procedures,
  // into boxes still empty or still holding what was carried there before.
  function carry(input) {
    const key = input.dataset.carry;
    if (!key) return;
    sections.slice(sections.indexOf(sectionOf(input)) + 1).forEach((later) => {
      const other = later.querySelector(`input.value[data-carry="${CSS.escape(key)}"]`);
      if (!other || (other.value && other.dataset.carried !== "1")) return;
      other.value = input.value;
      other.dataset.carried = "1";
      rowOf(other).classList.add("carried");
      schedule(later, 300);
    });
  }

  form.addEventListener("input", (ev) => {
    const el = ev.target;
    if (el.dataset.address === "1" && POSTAL_ALONE.test(el.value.normalize("NFKC").trim())) {
      schedule(sectionOf(el), 0); // a postal code typed into an address: its place replaces it at once
    }
    if (el.dataset.carried === "1") {
      el.dataset.carried = "0"; // typed over: this procedure's own value from now on
      rowOf(el).classList.remove("carried");
    }
  });

  form.addEventListener("change", (ev) => {
    const el = ev.target;
    const row = rowOf(el);
    if (!row) return;
    touched.add(row);
    if (el.classList.contains("value")) carry(el);
    schedule(sectionOf(el));
  });

  form.addEventListener("keydown", (ev) => {
    const el = ev.target;
    const sec = sectionOf(el);
    if (sec && !started.has(sec)) started.set(sec, performance.now());
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      printAll();
      return;
    }
    const row = rowOf(el);
    if (!row) return;
    const mode = row.dataset.mode;
    if (ev.key === "Enter") {
      if (ev.isComposing || ev.keyCode === 229) return; // Enter that confirms an IME conversion
      ev.preventDefault();
      touched.add(row);
      schedule(sec, 0);
      const next = rows[rows.indexOf(row) + 1];
      if (next) focusRow(next);
      else printAll();
      return;
    }
    if ((mode === "one" || mode === "many") && /^[1-9]$/.test(ev.key) && !ev.ctrlKey && !ev.altKey) {
      ev.preventDefault();
      const pick = controls(row)[Number(ev.key) - 1];
      if (!pick) return;
      pick.checked = mode === "one" ? true : !pick.checked;
      rove(row, pick);
      pick.dispatchEvent(new Event("change", { bubbles: true }));
      return;
    }
    const arrows = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
    if (mode === "many" && ev.key in arrows) {
      ev.preventDefault(); // radios move by themselves; tick boxes of one field move as one stop
      const inputs = controls(row);
      const k = inputs.indexOf(el);
      rove(row, inputs[(k + arrows[ev.key] + inputs.length) % inputs.length]);
    }
  });

  // One Tab stop per field: the option last moved to keeps it.
  function rove(row, el) {
    if (row.dataset.mode === "many") controls(row).forEach((i) => (i.tabIndex = i === el ? 0 : -1));
    el.focus();
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    printAll();
  });

  async function printAll() {
    if (busy) return;
    busy = true;
    try {
      rows.forEach((r) => touched.add(r));
      const answers = await Promise.all(sections.map((s) => check(s)));
      if (answers.some((a) => !a)) {
        form.submit(); // no answer (the session ended, the page expired): the server's own page says so
        return;
      }
      const bad = answers.some((a) => Object.values(a.fields).some((f) => f.reasons.length));
      fixFirst.hidden = !bad;
      if (bad) {
        const first = rows.find((r) => r.classList.contains("bad"));
        if (first) focusRow(first);
        return;
      }
      const now = performance.now();
      sections.forEach((s) => {
        const box = s.querySelector("input.seconds");
        const prior = Number(box.dataset.prior) || 0;
        const t0 = started.get(s);
        box.value = t0 === undefined ? (prior ? String(prior) : "") : ((now - t0) / 1000 + prior).toFixed(1);
      });
      printed.hidden = false;
      printed.querySelector(".text").textContent = form.dataset.printing;
      const resp = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-CSRF-Token": csrf },
        credentials: "same-origin",
      });
      const type = resp.headers.get("content-type") || "";
      if (!resp.ok || !type.startsWith("application/pdf")) {
        form.submit(); // the server refused: its own page says why, under each field
        return;
      }
      if (pdfUrl) URL.revokeObjectURL(pdfUrl);
      pdfUrl = URL.createObjectURL(await resp.blob());
      openPdf.href = pdfUrl;
      savePdf.href = pdfUrl;
      openPdf.hidden = savePdf.hidden = false;
      printed.querySelector(".text").textContent = form.dataset.printed.replace("{n}", sections.length);
      window.open(pdfUrl, "_blank");
    } finally {
      busy = false;
    }
  }

  // The first row still to fill: a date the form starts at today's (請求日) is passed over, Enter
  // from the row above still stops there.
  const filled = (r) => {
    const box = r.querySelector("input.value");
    return Boolean(box && box.value);
  };
  focusRow(rows.find((r) => !filled(r)) || rows[0]);
})();
