/**
 * The app factory: one function builds the Hono app for the server and for the tests.
 * Capabilities register their routes here; each owns its routes and service functions.
 */
import { registerAuditRoutes } from './audit/routes.js';
import { registerTrackerRoutes } from './audit/tracker-routes.js';
import { TOKEN_ENDPOINT_PATH, oauthErrorResponses } from './auth/oauth-errors.js';
import { registerAuthRoutes } from './auth/routes.js';
import { registerCalendarRoutes } from './calendar/routes.js';
import { registerProgressRoutes } from './cases/progress-routes.js';
import { registerDispatchRoutes } from './cases/dispatch-routes.js';
import { registerCaseRoutes } from './cases/routes.js';
import { registerCentreRoutes } from './centres/routes.js';
import { registerCertificateRoutes } from './certificates/routes.js';
import { registerSealRoutes } from './seals/routes.js';
import { registerContractRoutes } from './contracts/routes.js';
import { registerDepartmentRoutes } from './departments/routes.js';
import { registerSubjectRoutes } from './identity/routes.js';
import { registerItemRoutes } from './items/routes.js';
import { registerPublicItemRoutes } from './items/public-routes.js';
import { registerMaterialRoutes } from './materials/routes.js';
import { registerNotificationRoutes } from './notifications/routes.js';
import { allowedMethodsTable, answerUnrouted } from './platform/allowed-methods.js';
import { registerDocsRoutes } from './operations/docs-routes.js';
import { handleError } from './platform/errors.js';
import { GatewayOpenAPIHono, validationFailed } from './platform/openapi-app.js';
import { registerHealthRoutes } from './operations/health-routes.js';
import { requestContext } from './platform/request-context.js';
import { registerRatingRoutes } from './ratings/routes.js';
import type { GatewayServices } from './services.js';
import { registerSupervisionRoutes } from './supervision/routes.js';

export type GatewayApp = GatewayOpenAPIHono;

export function createApp(services: GatewayServices): GatewayApp {
  const app = new GatewayOpenAPIHono({
    // Validation failures become one problem document listing every bad field.
    defaultHook: (result) => {
      if (!result.success) throw validationFailed(result.error.issues);
    },
  });

  // Outermost, so it also reshapes errors answered before routing (draining) as RFC 6749 §5.2 JSON.
  app.use(TOKEN_ENDPOINT_PATH, oauthErrorResponses);
  app.use('*', requestContext(services));

  registerHealthRoutes(app);
  registerDocsRoutes(app, services.config.docs);
  registerAuthRoutes(app);
  registerAuditRoutes(app);
  registerSubjectRoutes(app);
  registerMaterialRoutes(app);
  registerTrackerRoutes(app);
  registerContractRoutes(app);
  registerDepartmentRoutes(app);
  registerCertificateRoutes(app);
  registerSealRoutes(app);
  registerCalendarRoutes(app);
  registerItemRoutes(app);
  registerPublicItemRoutes(app);
  registerCentreRoutes(app);
  registerCaseRoutes(app);
  registerSupervisionRoutes(app);
  registerDispatchRoutes(app);
  registerNotificationRoutes(app);
  registerProgressRoutes(app);
  registerRatingRoutes(app);

  // Built once from the routes registered above: a known path with another method is 405, not 404.
  app.notFound(answerUnrouted(allowedMethodsTable(app.routes)));
  app.onError(handleError);
  return app;
}
