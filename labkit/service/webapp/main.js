// Start the page: window.labkit is the app (handy in the console, and for tests).
// ?name=alice signs in at once.

import { CallApp } from "./ui.js";

const app = new CallApp();
window.labkit = app;
const name = new URLSearchParams(location.search).get("name");
if (name) app.signIn(name);
