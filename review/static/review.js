// Keyboard-first review: Enter confirms a field and jumps to the next doubtful one, Tab moves field by
// field, Esc restores what OCR read, Ctrl+Enter approves. No build step, no framework.
(function () {
  const form = document.getElementById("fields");
  if (!form) return;
  const inputs = Array.from(form.querySelectorAll("input.value, input[type=radio], input[type=checkbox]:not([name^=unreadable_])"));
  const doubtful = inputs.filter((el) => el.dataset.doubt === "1");
  const first = doubtful[0] || inputs[0];
  if (first) first.focus();
  const highlight = (el) => {
    document.querySelectorAll(".zone.active").forEach((z) => z.classList.remove("active"));
    const name = el.name.replace(/^f_/, "");
    const zone = document.querySelector(`.zone[data-field="${name}"]`);
    if (zone) zone.classList.add("active");
  };
  inputs.forEach((el) => el.addEventListener("focus", () => highlight(el)));
  form.addEventListener("keydown", (ev) => {
    const el = ev.target;
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      document.getElementById("approve").click();
      return;
    }
    if (ev.key === "Enter" && el.tagName === "INPUT") {
      ev.preventDefault();
      const row = el.closest("tr");
      if (row) row.classList.add("confirmed");
      const next = doubtful.find((d) => inputs.indexOf(d) > inputs.indexOf(el) && d.name !== el.name);
      if (next) next.focus();
      else document.getElementById("approve").focus();
      return;
    }
    if (ev.key === "F2") {
      ev.preventDefault();
      const row = el.closest("tr");
      const box = row && row.querySelector("input[name^=unreadable_]");
      if (box) box.checked = !box.checked;
      return;
    }
    if (ev.key === "Escape" && el.dataset.original !== undefined) {
      el.value = el.dataset.original;
    }
  });
})();

// Blind checks (ダブルチェック, 抜き取り検査): Enter moves to the next entry instead of sending a half-keyed
// form (an empty entry would count as a difference); Ctrl+Enter sends it.
(function () {
  const form = document.getElementById("double");
  if (!form) return;
  const inputs = Array.from(form.querySelectorAll("input.value, input[type=radio], input[type=checkbox]"));
  form.addEventListener("keydown", (ev) => {
    const el = ev.target;
    if (ev.key !== "Enter" || el.tagName !== "INPUT") return;
    ev.preventDefault();
    if (ev.ctrlKey || ev.metaKey) {
      document.getElementById("double-submit").click();
      return;
    }
    const next = inputs.find((d) => inputs.indexOf(d) > inputs.indexOf(el) && d.name !== el.name);
    if (next) next.focus();
    else document.getElementById("double-submit").focus();
  });
})();
