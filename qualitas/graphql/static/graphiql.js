// GraphiQL for /graphql, on the vendored React and GraphiQL builds (static/vendor/).
// URL parameters: ?q=...&variables=...&headers=... prefill the editors (not ?query=,
// which the endpoint itself answers as a GET query). Requests go
// to this page's own URL (POST), subscriptions to the same URL over WebSocket.
"use strict";
(function () {
  const params = new URLSearchParams(window.location.search);
  const url = window.location.origin + window.location.pathname;
  const fetcher = GraphiQL.createFetcher({ url: url, subscriptionUrl: url.replace(/^http/, "ws") });
  const DEFAULT_QUERY = [
    "# Qualitas GraphQL. Put your API key under Headers below:",
    '#   {"Authorization": "Bearer qk_..."}',
    "# (`make run` prints one). Run with Ctrl-Enter; the docs are in the book icon.",
    "{",
    "  whoami { name role }",
    "}",
    "",
  ].join("\n");

  function App() {
    const [query, setQuery] = React.useState(params.get("q") || undefined);
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: DEFAULT_QUERY,
      query: query,
      onEditQuery: setQuery,
      variables: params.get("variables") || undefined,
      headers: params.get("headers") || undefined,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      defaultEditorToolsVisibility: "headers",
      inputValueDeprecation: true,
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(App));
})();
