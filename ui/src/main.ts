import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { connectApi } from "./lib/api";
import "./lib/perf";

await connectApi();
mount(App, { target: document.getElementById("app")! });
