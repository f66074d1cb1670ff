// Swagger UI over the spec as this mock serves it (its first server is the mock), one
// definition per loaded model (the top bar's selector: the seed first, then every other
// model; "every model" shows createTask's body as a oneOf over all of them), then one per
// other API of the family (Veo 3.1, Suno ...), each its own spec.
// validatorUrl: null: Swagger UI would otherwise send the spec to validator.swagger.io.
Promise.all([fetch("/openapi/models.json").then((answer) => answer.json()),
             fetch("/openapi/apis.json").then((answer) => answer.json())])
  .then(([models, apis]) => {
    const label = (entry) => `${entry.model} (${entry.output})`;
    const urls = models.map((entry) => ({
      url: "/openapi.json?model=" + encodeURIComponent(entry.model), name: label(entry),
    }));
    if (models.length > 1) urls.push({ url: "/openapi.json", name: "every model (createTask body: oneOf)" });
    urls.push(...apis.map((entry) => ({ url: entry.spec, name: `${entry.title} API` })));
    window.ui = SwaggerUIBundle({
      urls,
      "urls.primaryName": label(models[0]),
      dom_id: "#swagger-ui",
      deepLinking: true,
      validatorUrl: null,
      tryItOutEnabled: false,
      displayOperationId: true,
      filter: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout",
    });
  });
