/** Packs: list, get (with its versions), register from a bundle, activate, uninstall, configuration. */
import { Type } from '@fastify/type-provider-typebox';
import { ValidationError, PayloadTooLargeError } from '../../errors.js';
import type { BundleFile } from '../../packs/files.js';
import { activatePack } from '../../packs/activate.js';
import { getPackConfig, setPackConfig } from '../../packs/pack-config.js';
import { registerPack } from '../../packs/register.js';
import { uninstallPack } from '../../packs/uninstall.js';
import { PackRepository, type Pack } from '../../repositories/packs.js';
import type { ApiContext, ApiInstance } from '../app.js';
import { fromHttp, toHttp } from '../case.js';
import { listBody, listPage } from '../pagination.js';
import { JsonObject, ListOf, ListQuery, One, RefParams, Timestamp, errors } from '../schemas.js';

const PackRef = Type.Ref('Pack');

const PackWithVersions = Type.Intersect([
  PackRef,
  Type.Object({ versions: Type.Array(Type.Object({ version: Type.String(), is_active: Type.Boolean(), created_at: Timestamp })) }),
]);

/** One file of a bundle: its path in the pack and its bytes in base64. */
const BundleFileSchema = Type.Object(
  {
    path: Type.String({ minLength: 1, maxLength: 1024 }),
    content_base64: Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$' }),
    executable: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const RegisterBody = Type.Object(
  { files: Type.Array(BundleFileSchema, { minItems: 1, maxItems: 10_000 }) },
  { additionalProperties: false, description: "The pack's files; the server reads and validates them as it would a directory" },
);

const Report = Type.Object({}, { additionalProperties: true });

export function packToHttp(pack: Pack): Record<string, unknown> {
  return toHttp(pack);
}

export async function packRoutes(app: ApiInstance, ctx: ApiContext): Promise<void> {
  app.get(
    '/packs',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['packs'],
        summary: 'List pack versions (filters; search ranks by relevance)',
        querystring: ListQuery({
          ref: Type.Optional(Type.String({ maxLength: 255 })),
          active: Type.Optional(Type.Boolean()),
          system: Type.Optional(Type.Boolean()),
          search: Type.Optional(Type.String({ maxLength: 255 })),
          keyword: Type.Optional(Type.String({ maxLength: 255 })),
          depends_on: Type.Optional(Type.String({ maxLength: 255 })),
        }),
        response: { 200: ListOf(PackRef), ...errors(400, 401, 403, 422) },
      },
    },
    async (request) => {
      const { limit, cursor, count, active, system, ...filters } = request.query;
      const page = await listPage('pack', { limit, cursor, count }, (pagination) =>
        PackRepository.list(ctx.db, { ...fromHttp(filters), isActive: active, isSystem: system, ...pagination }),
      );
      return listBody('pack', page, packToHttp);
    },
  );

  app.get(
    '/packs/:ref',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['packs'],
        summary: 'The active version of a pack, with every installed version',
        params: RefParams,
        response: { 200: One(PackWithVersions), ...errors(401, 403, 404, 422) },
      },
    },
    async (request) => {
      const pack = await PackRepository.getByRef(ctx.db, request.params.ref);
      const versions = await PackRepository.listVersions(ctx.db, request.params.ref);
      return {
        data: { ...packToHttp(pack), versions: versions.map((v) => ({ version: v.version, is_active: v.isActive, created_at: v.createdAt })) },
      };
    },
  );

  app.post(
    '/packs',
    {
      config: { role: 'admin' },
      bodyLimit: ctx.config.api.packBodyLimitBytes,
      schema: {
        tags: ['packs'],
        summary: 'Register a pack from a bundle of its files (validated again here) and make the version active',
        body: RegisterBody,
        response: { 201: One(Report), ...errors(400, 401, 403, 413, 422) },
      },
    },
    async (request, reply) => {
      const bundle: BundleFile[] = request.body.files.map((file, i) => {
        const content = Buffer.from(file.content_base64, 'base64');
        if (content.length > ctx.config.api.packBodyLimitBytes) {
          throw new PayloadTooLargeError(`files.${i} is larger than the pack limit`, { entity: 'pack', field: `files.${i}.content_base64` });
        }
        return { path: file.path, content, ...(file.executable === undefined ? {} : { executable: file.executable }) };
      });
      const report = await registerPack(ctx.db, bundle);
      return reply.code(201).send({ data: toHttp(report) });
    },
  );

  app.post(
    '/packs/:ref/activate',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['packs'],
        summary: 'Make an installed version of the pack the active one',
        params: RefParams,
        body: Type.Object({ version: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false }),
        response: { 200: One(Type.Object({ pack: Type.String(), version: Type.String(), previous_version: Type.Union([Type.String(), Type.Null()]), active: PackRef })), ...errors(400, 401, 403, 404, 422) },
      },
    },
    async (request) => {
      const report = await activatePack(ctx.db, request.params.ref, request.body.version);
      return { data: { pack: report.pack, version: report.version, previous_version: report.previousVersion, active: packToHttp(report.active) } };
    },
  );

  app.delete(
    '/packs/:ref',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['packs'],
        summary: 'Uninstall every version of the pack, its components, files and secret configuration',
        params: RefParams,
        querystring: Type.Object({ force: Type.Optional(Type.Boolean({ description: 'even when active packs depend on it' })) }, { additionalProperties: false }),
        response: { 200: One(Report), ...errors(401, 403, 404, 422) },
      },
    },
    async (request) => {
      const report = await uninstallPack(ctx.db, request.params.ref, { force: request.query.force === true });
      return { data: toHttp(report) };
    },
  );

  app.get(
    '/packs/:ref/config',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['packs'],
        summary: "The active version's configuration, secrets shown as ********",
        params: RefParams,
        response: { 200: One(JsonObject), ...errors(401, 403, 404, 422) },
      },
    },
    async (request) => ({ data: await getPackConfig(ctx.db, request.params.ref) }),
  );

  app.put(
    '/packs/:ref/config',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['packs'],
        summary: "Set the active version's whole configuration (validated against its schema; secrets encrypted; a secret left out keeps its value)",
        params: RefParams,
        body: JsonObject,
        response: { 200: One(JsonObject), ...errors(400, 401, 403, 404, 422) },
      },
    },
    async (request) => {
      if (request.body === null || typeof request.body !== 'object' || Array.isArray(request.body)) {
        throw new ValidationError('the configuration must be a JSON object', { entity: 'pack', field: 'config' });
      }
      return { data: await setPackConfig(ctx.db, request.params.ref, request.body, { cipher: ctx.cipher }) };
    },
  );
}
