// The one webview bundle (dist/webview.js): the host's HTML says which app the page is, by the
// body's data-view: the CAM panel ("cam") or the model summary editor ("model").
import { camApp } from './cam/app';
import { modelApp } from './model/app';

if (document.body.dataset.view === 'model') modelApp();
else camApp();
