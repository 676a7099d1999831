//! One identity per person on the pages: the header's "as [name]" field, remembered in the
//! browser (`localStorage`), is what every form that acts (acknowledge, resolve, verdict,
//! approve, reject, silence) sends as `by`. A form sent with no name is held back and the
//! field asks for one. (Until logins exist, see the access-control issue, this is a name, not
//! an authenticated user.)

use axum::response::IntoResponse;

pub async fn script() -> impl IntoResponse {
    super::live::javascript(WHO_JS)
}

const WHO_JS: &str = r#"// nightwatch: who is acting, one field for the whole UI.
(function () {
  var KEY = "nightwatch.name";
  var who = document.getElementById("who");
  if (!who) return;
  try { who.value = localStorage.getItem(KEY) || ""; } catch (e) {}
  who.addEventListener("input", function () {
    who.setCustomValidity("");
    try { localStorage.setItem(KEY, who.value.trim()); } catch (e) {}
  });
  document.addEventListener("submit", function (event) {
    var by = event.target.querySelector("input[name=by]");
    if (!by) return;
    var name = who.value.trim();
    if (!name) {
      event.preventDefault();
      who.setCustomValidity("Who is acting? Your name goes on the timeline.");
      who.reportValidity();
      who.focus();
      return;
    }
    by.value = name;
  }, true);
})();
"#;
