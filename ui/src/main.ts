import "./app.css";
import { mount } from "svelte";
import App from "./App.svelte";

// Anything the Content Security Policy blocks is kept here, so the end-to-end tests can check
// that the strict policy and the app agree (they expect this list to stay empty).
const cspViolations: string[] = [];
(window as unknown as { __cspViolations: string[] }).__cspViolations = cspViolations;
window.addEventListener("securitypolicyviolation", (e) => {
  cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});

const target = document.getElementById("app");
if (!target) throw new Error("#app missing from index.html");

const app = mount(App, { target });

export default app;
