// IceCone's GraphiQL start-up: mounts GraphiQL on #graphiql, sending queries to this
// gateway's /graphql. Loaded from the gateway itself; nothing comes from elsewhere.
(function () {
  "use strict";
  var endpoint = new URL("/graphql", window.location.origin).toString();
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher({ url: endpoint }),
      defaultEditorToolsVisibility: true,
    })
  );
})();
