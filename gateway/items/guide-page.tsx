/**
 * The public guide page of an item (办事指南), in Chinese, rendered on the server with Hono JSX. No
 * script runs: the schema.org `GovernmentService` description is a JSON-LD data block, which a
 * browser never executes. The style sheet is fixed, so the policy admits it by its hash and the
 * page stays byte-identical between requests (cacheable, with a stable ETag).
 */
import { createHash } from 'node:crypto';
import { raw } from 'hono/html';
import type { FC } from 'hono/jsx';
import type { PublicItem, PublicRequirement } from './public-guide.js';

const STYLE = `
:root { font-family: system-ui, "Noto Sans CJK SC", "PingFang SC", sans-serif; color: #1f2937; }
body { margin: 0 auto; max-width: 56rem; padding: 1rem 1.5rem 3rem; line-height: 1.6; }
h1 { font-size: 1.6rem; margin-bottom: .25rem; } h2 { font-size: 1.15rem; border-bottom: 1px solid #d1d5db; }
.badges span { display: inline-block; background: #1e3a5f; color: #fff; border-radius: 4px; padding: 0 .5rem; margin-right: .5rem; }
table { border-collapse: collapse; width: 100%; } th, td { border: 1px solid #d1d5db; padding: .3rem .5rem; text-align: left; }
`;

/** The page's policy: nothing but its own style sheet (by hash) and images from itself. */
export const GUIDE_PAGE_POLICY =
  `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; ` +
  "img-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

const ONLINE_LEVEL_ZH = { offline: '窗口办理', online_application: '网上申请', fully_online: '全程网办' } as const;
const TRIPS_ZH = { 0: '零跑动', 1: '最多跑一次', 2: '最多跑两次' } as const;
const KIND_ZH = { immediate: '即办件', promised: '承诺件', joint: '联办件', escalated: '上报件' } as const;

/** Days as a Chinese clerk writes them: 即办 for zero. */
const workingDays = (days: number) => (days === 0 ? '即办' : `${days} 个工作日`);

/** schema.org description for search engines; https://schema.org/GovernmentService. */
export function guideStructuredData(item: PublicItem, pageUrl: string): Record<string, unknown> {
  const guide = item.guide;
  return {
    '@context': 'https://schema.org',
    '@type': 'GovernmentService',
    name: item.nameZh,
    alternateName: item.name,
    identifier: item.code,
    url: pageUrl,
    inLanguage: 'zh-CN',
    serviceType: KIND_ZH[item.kind],
    provider: item.departments.map((department) => ({
      '@type': 'GovernmentOrganization',
      identifier: department.code,
      name: department.name,
    })),
    ...(guide === null
      ? {}
      : {
          description: guide.conditions.join('；'),
          availableChannel: {
            '@type': 'ServiceChannel',
            name: ONLINE_LEVEL_ZH[guide.onlineLevel],
            availableLanguage: 'zh-CN',
            serviceLocation: { '@type': 'Place', name: guide.whereToGo },
          },
          offers: {
            '@type': 'Offer',
            price: guide.fee.free ? '0' : guide.fee.amountYuan,
            priceCurrency: 'CNY',
            ...(guide.fee.free ? {} : { description: guide.fee.basis }),
          },
        }),
  };
}

/** JSON inside a script element: `<` escaped so no text of the guide can close the element. */
function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

const MaterialRow: FC<{ entry: PublicRequirement }> = ({ entry }) => (
  <tr>
    <td>{entry.acceptedTypes.map((type) => type.nameZh).join(' 或 ')}</td>
    <td>{entry.optional ? '视情形提供' : '必须'}</td>
    <td>{entry.deferrableDays === null ? '否' : `可容缺，${entry.deferrableDays} 个工作日内补交`}</td>
    <td>{entry.fetchableFrom.length > 0 ? '可由部门共享调取，无需提交' : '申请人提交'}</td>
  </tr>
);

const GuidePage: FC<{ item: PublicItem; pageUrl: string }> = ({ item, pageUrl }) => {
  const guide = item.guide;
  return (
    <html lang="zh-CN">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${item.nameZh} 办事指南`}</title>
        <style>{raw(STYLE)}</style>
        <script type="application/ld+json">{raw(scriptSafeJson(guideStructuredData(item, pageUrl)))}</script>
      </head>
      <body>
        <h1>{item.nameZh} 办事指南</h1>
        {guide === null ? null : (
          <p class="badges">
            <span>{TRIPS_ZH[guide.maxTrips]}</span>
            <span>{ONLINE_LEVEL_ZH[guide.onlineLevel]}</span>
          </p>
        )}
        <h2>基本信息</h2>
        <table>
          <tbody>
            <tr>
              <th>事项类型</th>
              <td>{KIND_ZH[item.kind]}</td>
            </tr>
            <tr>
              <th>实施部门</th>
              <td>{item.departments.map((department) => department.name).join('、')}</td>
            </tr>
            <tr>
              <th>法定办结时限</th>
              <td>{workingDays(item.statutoryDays)}</td>
            </tr>
            <tr>
              <th>承诺办结时限</th>
              <td>{workingDays(item.promisedDays)}</td>
            </tr>
            {guide === null ? null : (
              <>
                <tr>
                  <th>收费标准</th>
                  <td>{guide.fee.free ? '不收费' : `${guide.fee.amountYuan} 元（收费依据：${guide.fee.basis}）`}</td>
                </tr>
                <tr>
                  <th>办理地点</th>
                  <td>{guide.whereToGo}</td>
                </tr>
              </>
            )}
          </tbody>
        </table>
        {guide === null ? (
          <p>本事项的办事指南尚未发布，请咨询综合受理窗口。</p>
        ) : (
          <>
            <h2>设定依据</h2>
            <ul>
              {guide.legalBasis.map((basis) => (
                <li>{basis.article === undefined ? basis.title : `${basis.title}${basis.article}`}</li>
              ))}
            </ul>
            <h2>受理条件</h2>
            <ul>
              {guide.conditions.map((condition) => (
                <li>{condition}</li>
              ))}
            </ul>
          </>
        )}
        <h2>申请材料</h2>
        <table>
          <thead>
            <tr>
              <th>材料</th>
              <th>是否必须</th>
              <th>容缺受理</th>
              <th>来源</th>
            </tr>
          </thead>
          <tbody>
            {item.materials.map((entry) => (
              <MaterialRow entry={entry} />
            ))}
          </tbody>
        </table>
        {guide === null ? null : (
          <>
            {(guide.samples ?? []).length === 0 ? null : (
              <>
                <h3>样表与空白模板</h3>
                <ul>
                  {(guide.samples ?? []).map((sample) => (
                    <li>
                      <a href={sample.url}>{sample.title}</a>
                    </li>
                  ))}
                </ul>
              </>
            )}
            <h2>办理流程</h2>
            <ol>
              {guide.procedure.map((step) => (
                <li>
                  <strong>{step.name}</strong>：{step.description}
                </li>
              ))}
            </ol>
            {guide.notes === undefined ? null : (
              <>
                <h2>温馨提示</h2>
                <p>{guide.notes}</p>
              </>
            )}
          </>
        )}
      </body>
    </html>
  );
};

export async function renderGuidePage(item: PublicItem, pageUrl: string): Promise<string> {
  const rendered = await (<GuidePage item={item} pageUrl={pageUrl} />);
  return `<!doctype html>${String(rendered ?? '')}`;
}
