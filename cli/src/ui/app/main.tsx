import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { NotLoggedIn, session } from "./api.ts";
import { navigate } from "./nav.ts";
import { RunList } from "./run-list.tsx";
import { RunPage } from "./run-page.tsx";

function App() {
  const [path, setPath] = useState(location.pathname + location.search);
  const [state, setState] = useState<"loading" | "in" | "out">("loading");
  const [title, setTitle] = useState("");
  useEffect(() => {
    const onPop = () => setPath(location.pathname + location.search);
    addEventListener("popstate", onPop);
    session()
      .then((s) => {
        setTitle(s.title);
        setState("in");
      })
      .catch((error: unknown) => setState(error instanceof NotLoggedIn ? "out" : "in"));
    return () => removeEventListener("popstate", onPop);
  }, []);
  const run = /^\/runs\/([^/?]+)/.exec(path);
  return (
    <>
      <header class="top">
        <a
          href="/"
          class="brand"
          onClick={(e) => {
            e.preventDefault();
            navigate("/");
          }}
        >
          Ferry
        </a>
        <span class="where">{title}</span>
      </header>
      <main>
        {state === "loading" && <p>Loading…</p>}
        {state === "out" && (
          <p role="alert">
            Not logged in. Open the login URL that <code>ferry ui</code> printed, or{" "}
            <a href="/login">log in with the token</a>.
          </p>
        )}
        {state === "in" && (run ? <RunPage id={decodeURIComponent(run[1]!)} /> : <RunList />)}
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
