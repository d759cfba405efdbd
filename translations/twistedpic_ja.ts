<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ja_JP">
<context>
    <name>tp::ui::GalleryModel</name>
    <message>
        <source>This file could not be read as an image.</source>
        <translation>このファイルは画像として読み込めませんでした。</translation>
    </message>
    <message>
        <source>No generation parameters recorded.</source>
        <translation>生成パラメーターは記録されていません。</translation>
    </message>
    <message>
        <source>%1 × %2 · %3 · %4 steps · seed %5</source>
        <translation>%1 × %2 · %3 · %4 ステップ · シード %5</translation>
    </message>
    <message>
        <source>Model: %1</source>
        <translation>モデル: %1</translation>
    </message>
</context>
<context>
    <name>tp::ui::GalleryView</name>
    <message>
        <source>&amp;Use these settings</source>
        <translation>この設定を使う(&amp;U)</translation>
    </message>
    <message>
        <source>Put this image&apos;s prompt, seed and settings into the generation form</source>
        <translation>この画像のプロンプト・シード・設定を生成フォームに入れます</translation>
    </message>
    <message>
        <source>&amp;Copy parameters</source>
        <translation>パラメーターをコピー(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;Open folder</source>
        <translation>フォルダーを開く(&amp;O)</translation>
    </message>
    <message>
        <source>Open the output folder in the file manager</source>
        <translation>出力フォルダーをファイルマネージャーで開きます</translation>
    </message>
    <message>
        <source>Generated images</source>
        <translation>生成した画像</translation>
    </message>
    <message>
        <source>No output folder is set.</source>
        <translation>出力フォルダーが設定されていません。</translation>
    </message>
    <message>
        <source>No images in %1 yet. Generated images appear here.</source>
        <translation>%1 にはまだ画像がありません。生成した画像はここに表示されます。</translation>
    </message>
    <message>
        <source>Select an image to see how it was made.</source>
        <translation>画像を選ぶと、その作り方が表示されます。</translation>
    </message>
    <message>
        <source>No generation parameters recorded in this image.</source>
        <translation>この画像には生成パラメーターが記録されていません。</translation>
    </message>
</context>
<context>
    <name>tp::ui::GenerationForm</name>
    <message>
        <source>The Ollama model TwistedPair distorts with (empty: TwistedPair's default)</source>
        <translation>TwistedPair が変形に使う Ollama のモデル (空欄: TwistedPair の既定)</translation>
    </message>
    <message>
        <source>Distortion model</source>
        <translation>変形モデル</translation>
    </message>
    <message>
        <source>Re&amp;fine to visual keywords</source>
        <translation>視覚的なキーワードに絞り込む(&amp;F)</translation>
    </message>
    <message>
        <source>Ollama boils the distorted text down to visual keywords (the refiner model and template are in the settings). If it fails, the distorted text is used.</source>
        <translation>Ollama が変形したテキストを視覚的なキーワードに絞り込みます (モデルとテンプレートは設定にあります)。失敗した場合は変形したテキストを使います。</translation>
    </message>
    <message>
        <source>&amp;Distort the prompt through TwistedPair first</source>
        <translation>プロンプトを先に TwistedPair で変形する(&amp;D)</translation>
    </message>
    <message>
        <source>TwistedPair rewrites the prompt (mode, tone, gain); Ollama then refines it into visual keywords. You see every stage and can edit the final prompt.</source>
        <translation>TwistedPair がプロンプトを書き換え（モード、トーン、ゲイン）、続いて Ollama が視覚的なキーワードに整えます。各段階を確認し、最終プロンプトを編集できます。</translation>
    </message>
    <message>
        <source>Distortion mode</source>
        <translation>変形モード</translation>
    </message>
    <message>
        <source>Distortion tone</source>
        <translation>変形トーン</translation>
    </message>
    <message>
        <source>Distortion gain</source>
        <translation>変形ゲイン</translation>
    </message>
    <message>
        <source>gain </source>
        <translation>ゲイン </translation>
    </message>
    <message>
        <source>Open model folder…</source>
        <translation>モデルフォルダーを開く…</translation>
    </message>
    <message>
        <source>%1 is not a diffusers model folder.</source>
        <translation>%1 は diffusers のモデルフォルダーではありません。</translation>
    </message>
    <message>
        <source>&amp;Prompt</source>
        <translation>プロンプト(&amp;P)</translation>
    </message>
    <message>
        <source>Describe the picture, e.g. &quot;a lighthouse at dusk, oil painting&quot;</source>
        <translation>絵の内容を書いてください(例: &quot;a lighthouse at dusk, oil painting&quot;)</translation>
    </message>
    <message>
        <source>Prompt</source>
        <translation>プロンプト</translation>
    </message>
    <message>
        <source>&amp;Negative prompt</source>
        <translation>ネガティブプロンプト(&amp;N)</translation>
    </message>
    <message>
        <source>What the picture should not show</source>
        <translation>絵に含めたくないもの</translation>
    </message>
    <message>
        <source>Negative prompt</source>
        <translation>ネガティブプロンプト</translation>
    </message>
    <message>
        <source>&amp;Model:</source>
        <translation>モデル(&amp;M):</translation>
    </message>
    <message>
        <source>S&amp;ampler:</source>
        <translation>サンプラー(&amp;A):</translation>
    </message>
    <message>
        <source>&amp;Steps:</source>
        <translation>ステップ数(&amp;S):</translation>
    </message>
    <message>
        <source>G&amp;uidance:</source>
        <translation>ガイダンス(&amp;U):</translation>
    </message>
    <message>
        <source>How closely the image follows the prompt (classifier-free guidance scale)</source>
        <translation>画像がプロンプトにどれだけ忠実に従うか(classifier-free guidance のスケール)</translation>
    </message>
    <message>
        <source>Si&amp;ze:</source>
        <translation>サイズ(&amp;Z):</translation>
    </message>
    <message>
        <source> px</source>
        <translation> px</translation>
    </message>
    <message>
        <source>Width</source>
        <translation>幅</translation>
    </message>
    <message>
        <source>Height</source>
        <translation>高さ</translation>
    </message>
    <message>
        <source>S&amp;eed:</source>
        <translation>シード(&amp;E):</translation>
    </message>
    <message>
        <source>Random</source>
        <translation>ランダム</translation>
    </message>
    <message>
        <source>Fixed</source>
        <translation>固定</translation>
    </message>
    <message>
        <source>random</source>
        <translation>ランダム</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>シード</translation>
    </message>
    <message>
        <source>Reuse the last image&apos;s seed</source>
        <translation>直前の画像のシードを再利用します</translation>
    </message>
    <message>
        <source>Reuse last seed</source>
        <translation>直前のシードを再利用</translation>
    </message>
    <message>
        <source>Pick a new random seed and keep it</source>
        <translation>新しいランダムなシードを選んで固定します</translation>
    </message>
    <message>
        <source>New random seed</source>
        <translation>新しいランダムシード</translation>
    </message>
    <message>
        <source>&amp;Images:</source>
        <translation>枚数(&amp;I):</translation>
    </message>
    <message>
        <source>&amp;Generate</source>
        <translation>生成(&amp;G)</translation>
    </message>
    <message>
        <source>Generate (Ctrl+Enter)</source>
        <translation>生成(Ctrl+Enter)</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>キャンセル</translation>
    </message>
    <message>
        <source>Stop after the current step (Esc)</source>
        <translation>現在のステップの後で止めます(Esc)</translation>
    </message>
    <message>
        <source>Ctrl+Enter generates · Esc cancels</source>
        <translation>Ctrl+Enter で生成 · Esc でキャンセル</translation>
    </message>
    <message>
        <source>%1 × %2</source>
        <translation>%1 × %2</translation>
    </message>
    <message>
        <source>Custom</source>
        <translation>カスタム</translation>
    </message>
    <message>
        <source>The sampler &quot;%1&quot; is not available here; keeping %2.</source>
        <translation>サンプラー「%1」はここでは使えません。%2 のままにします。</translation>
    </message>
    <message>
        <source>The model &quot;%1&quot; is not installed; keeping %2.</source>
        <translation>モデル「%1」はインストールされていません。%2 のままにします。</translation>
    </message>
    <message>
        <source>Reuse the last image&apos;s seed (%1)</source>
        <translation>直前の画像のシードを再利用します(%1)</translation>
    </message>
    <message>
        <source>Without &amp;T5</source>
        <translation>T5 なし(&amp;T)</translation>
    </message>
    <message>
        <source>Run without the T5 text encoder: zeros stand in for its tokens, as diffusers allows. It is not loaded (or is released from the GPU), saving its memory; the picture follows the prompt a little less closely, long prompts more so.</source>
        <translation>T5 テキストエンコーダーなしで生成します。diffusers と同じく、そのトークンの代わりにゼロを使います。T5 は読み込まれず(または GPU から解放され)、そのメモリを節約できます。画像がプロンプトに従う度合いは少し下がり、長いプロンプトほど影響が大きくなります。</translation>
    </message>
    <message>
        <source>T5 needs ~%1</source>
        <translation>T5 には約 %1 が必要です</translation>
    </message>
    <message>
        <source>T5 needs ~%1; %2 free: running without it may fit</source>
        <translation>T5 には約 %1 が必要です。空きは %2:T5 なしなら収まるかもしれません</translation>
    </message>
    <message>
        <source>T5 needs ~%1; %2 free</source>
        <translation>T5 には約 %1 が必要です。空きは %2</translation>
    </message>
    <message>
        <source>The image was made without T5, which %1 cannot do.</source>
        <translation>この画像は T5 なしで生成されましたが、%1 ではそれができません。</translation>
    </message>
    <message>
        <source>%1 does not use a negative prompt.</source>
        <translation>%1 はネガティブプロンプトを使いません。</translation>
    </message>
</context>
<context>
    <name>tp::ui::ImageViewer</name>
    <message>
        <source>&amp;Fit to window</source>
        <translation>ウィンドウに合わせる(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Actual size</source>
        <translation>実寸(&amp;A)</translation>
    </message>
    <message>
        <source>Zoom &amp;in</source>
        <translation>拡大(&amp;I)</translation>
    </message>
    <message>
        <source>Zoom &amp;out</source>
        <translation>縮小(&amp;O)</translation>
    </message>
    <message>
        <source>&amp;Copy image</source>
        <translation>画像をコピー(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;Save image as…</source>
        <translation>名前を付けて画像を保存(&amp;S)…</translation>
    </message>
    <message>
        <source>&amp;Previous image</source>
        <translation>前の画像(&amp;P)</translation>
    </message>
    <message>
        <source>&amp;Next image</source>
        <translation>次の画像(&amp;N)</translation>
    </message>
    <message>
        <source>Your images appear here.
Write a prompt and press Generate (Ctrl+Enter).</source>
        <translation>ここに画像が表示されます。
プロンプトを書いて「生成」を押してください(Ctrl+Enter)。</translation>
    </message>
    <message>
        <source>Image</source>
        <translation>画像</translation>
    </message>
    <message>
        <source>%1 of %2</source>
        <translation>%1 / %2</translation>
    </message>
    <message>
        <source>Save image as</source>
        <translation>名前を付けて画像を保存</translation>
    </message>
    <message>
        <source>PNG image (*.png);;JPEG image (*.jpg *.jpeg);;WebP image (*.webp)</source>
        <translation>PNG 画像 (*.png);;JPEG 画像 (*.jpg *.jpeg);;WebP 画像 (*.webp)</translation>
    </message>
    <message>
        <source>Could not save the image as %1.</source>
        <translation>画像を %1 として保存できませんでした。</translation>
    </message>
    <message>
        <source>Open the image&apos;s fol&amp;der</source>
        <translation>画像のフォルダーを開く(&amp;D)</translation>
    </message>
</context>
<context>
    <name>tp::ui::LogView</name>
    <message>
        <source>Log</source>
        <translation>ログ</translation>
    </message>
    <message>
        <source>Everything (debug)</source>
        <translation>すべて(デバッグ)</translation>
    </message>
    <message>
        <source>Information</source>
        <translation>情報</translation>
    </message>
    <message>
        <source>Warnings and errors</source>
        <translation>警告とエラー</translation>
    </message>
    <message>
        <source>Errors only</source>
        <translation>エラーのみ</translation>
    </message>
    <message>
        <source>Least important level shown</source>
        <translation>表示する最も低いレベル</translation>
    </message>
    <message>
        <source>Log level</source>
        <translation>ログレベル</translation>
    </message>
    <message>
        <source>Search the log</source>
        <translation>ログを検索</translation>
    </message>
    <message>
        <source>F&amp;ollow</source>
        <translation>追従(&amp;O)</translation>
    </message>
    <message>
        <source>Scroll to each new line</source>
        <translation>新しい行まで自動でスクロールします</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>コピー</translation>
    </message>
    <message>
        <source>Copy the selected lines, or all shown lines when none is selected</source>
        <translation>選択した行を、選択がなければ表示中のすべての行をコピーします</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>クリア</translation>
    </message>
    <message>
        <source>Empty this view (the log file keeps everything)</source>
        <translation>この表示を空にします(ログファイルにはすべて残ります)</translation>
    </message>
</context>
<context>
    <name>tp::ui::MainWindow</name>
    <message>
        <source>&amp;New image</source>
        <translation>新しい画像(&amp;N)</translation>
    </message>
    <message>
        <source>Ready for a new image: type a prompt.</source>
        <translation>新しい画像の準備ができました。プロンプトを入力してください。</translation>
    </message>
    <message>
        <source>The prompt is empty: describe what to draw, then generate.</source>
        <translation>プロンプトが空です。描きたいものを入力してから生成してください。</translation>
    </message>
    <message>
        <source>&amp;Welcome assistant…</source>
        <translation>ようこそアシスタント(&amp;W)…</translation>
    </message>
    <message>
        <source>&amp;User guide</source>
        <translation>ユーザーガイド(&amp;U)</translation>
    </message>
    <message>
        <source>GPU memory &amp;troubleshooting</source>
        <translation>GPU メモリのトラブルシューティング(&amp;T)</translation>
    </message>
    <message>
        <source>The document %1 is not installed.</source>
        <translation>文書 %1 はインストールされていません。</translation>
    </message>
    <message>
        <source>%1 The image is shown here: use Save As to keep it.</source>
        <translation>%1 画像はここに表示されています。残すには「名前を付けて保存」を使ってください。</translation>
    </message>
    <message>
        <source>Services</source>
        <translation>サービス</translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation>%1 を保存しました</translation>
    </message>
    <message>
        <source>About TwistedPic</source>
        <translation>TwistedPic について</translation>
    </message>
    <message>
        <source>&lt;h3&gt;TwistedPic %1&lt;/h3&gt;&lt;p&gt;Stable Diffusion image generation on your own GPU, sharing it politely with Ollama.&lt;/p&gt;</source>
        <translation>&lt;h3&gt;TwistedPic %1&lt;/h3&gt;&lt;p&gt;自分の GPU で Stable Diffusion による画像生成を。GPU は Ollama と行儀よく分け合います。&lt;/p&gt;</translation>
    </message>
    <message>
        <source>TwistedPic</source>
        <translation>TwistedPic</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>ファイル(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Image</source>
        <translation>画像(&amp;I)</translation>
    </message>
    <message>
        <source>G&amp;PU</source>
        <translation>GPU(&amp;P)</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>表示(&amp;V)</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>ヘルプ(&amp;H)</translation>
    </message>
    <message>
        <source>&amp;Generate</source>
        <translation>生成(&amp;G)</translation>
    </message>
    <message>
        <source>&amp;Cancel generation</source>
        <translation>生成をキャンセル(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;Open output folder</source>
        <translation>出力フォルダーを開く(&amp;O)</translation>
    </message>
    <message>
        <source>&amp;Settings…</source>
        <translation>設定(&amp;S)…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>終了(&amp;Q)</translation>
    </message>
    <message>
        <source>&amp;Free GPU memory now</source>
        <translation>GPU メモリを今すぐ解放(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Unload model now</source>
        <translation>モデルを今すぐアンロード(&amp;U)</translation>
    </message>
    <message>
        <source>&amp;About TwistedPic</source>
        <translation>TwistedPic について(&amp;A)</translation>
    </message>
    <message>
        <source>Gallery</source>
        <translation>ギャラリー</translation>
    </message>
    <message>
        <source>GPU memory</source>
        <translation>GPU メモリ</translation>
    </message>
    <message>
        <source>Dismiss</source>
        <translation>閉じる</translation>
    </message>
    <message>
        <source>Dismiss the error</source>
        <translation>エラー表示を閉じる</translation>
    </message>
    <message>
        <source>Progress</source>
        <translation>進行状況</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>準備完了</translation>
    </message>
    <message>
        <source>Idle</source>
        <translation>待機中</translation>
    </message>
    <message>
        <source>Loading the model</source>
        <translation>モデルを読み込み中</translation>
    </message>
    <message>
        <source>Generating</source>
        <translation>生成中</translation>
    </message>
    <message>
        <source>Freeing GPU memory</source>
        <translation>GPU メモリを解放中</translation>
    </message>
    <message>
        <source>Unloading the model</source>
        <translation>モデルをアンロード中</translation>
    </message>
    <message>
        <source>Reloading the model</source>
        <translation>モデルを再読み込み中</translation>
    </message>
    <message>
        <source>%1 · %2</source>
        <translation>%1 · %2</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>開始しています…</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>キャンセルしています…</translation>
    </message>
    <message>
        <source>Step %1 of %2</source>
        <translation>ステップ %1 / %2</translation>
    </message>
    <message>
        <source> · %1 it/s</source>
        <translation> · %1 it/s</translation>
    </message>
    <message>
        <source> · %1 left</source>
        <translation> · 残り %1</translation>
    </message>
    <message>
        <source>Preview · step %1 of %2</source>
        <translation>プレビュー · ステップ %1 / %2</translation>
    </message>
    <message>
        <source>Done in %1 · %2 it/s</source>
        <translation>%1 で完了 · %2 it/s</translation>
    </message>
    <message>
        <source>Done in %1</source>
        <translation>%1 で完了</translation>
    </message>
    <message>
        <source>Stopped</source>
        <translation>停止しました</translation>
    </message>
    <message>
        <source>Loading the model…</source>
        <translation>モデルを読み込み中…</translation>
    </message>
    <message>
        <source>Reloading the model…</source>
        <translation>モデルを再読み込み中…</translation>
    </message>
    <message>
        <source>Settings of the selected image are in the form.</source>
        <translation>選んだ画像の設定をフォームに入れました。</translation>
    </message>
    <message>
        <source>Image made with seed %1 on %2.</source>
        <translation>シード %1 で %2 上に画像を生成しました。</translation>
    </message>
    <message>
        <source>%1 images made with seeds from %2 on %3.</source>
        <translation>シード %2 から %1 枚の画像を %3 上に生成しました。</translation>
    </message>
    <message>
        <source>Cancelled</source>
        <translation>キャンセルしました</translation>
    </message>
    <message>
        <source>Generation cancelled.</source>
        <translation>生成をキャンセルしました。</translation>
    </message>
</context>
<context>
    <name>tp::ui::SettingsDialog</name>
    <message>
        <source>Refiner &amp;model (Ollama):</source>
        <translation>リファイナーのモデル (Ollama)(&amp;M):</translation>
    </message>
    <message>
        <source>&amp;Keywords to ask for:</source>
        <translation>キーワード数(&amp;K):</translation>
    </message>
    <message>
        <source>&amp;Refiner template:</source>
        <translation>リファイナーのテンプレート(&amp;R):</translation>
    </message>
    <message>
        <source>What Ollama is asked to boil the distorted text down to visual keywords. {text} is the distorted text, {count} the number of keywords.</source>
        <translation>変形したテキストを視覚的なキーワードに絞り込むよう Ollama に頼む文です。{text} は変形したテキスト、{count} はキーワードの数です。</translation>
    </message>
    <message>
        <source>&amp;Wrapper template:</source>
        <translation>ラッパーテンプレート(&amp;W):</translation>
    </message>
    <message>
        <source>The final prompt around the refined text: {distorted} is the refined (or distorted) text, {prompt} the prompt as typed.</source>
        <translation>絞り込んだテキストを包む最終プロンプトです。{distorted} は絞り込んだ (または変形した) テキスト、{prompt} は入力したプロンプトです。</translation>
    </message>
    <message>
        <source>Import from the &amp;original…</source>
        <translation>元のアプリから取り込む(&amp;O)…</translation>
    </message>
    <message>
        <source>Read the Python original&apos;s config.py (never run) and take over what it set</source>
        <translation>Python 版の config.py を（実行せずに）読み、その設定を引き継ぎます</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is not a size like 768x512 (multiples of 8, 64 to 4096).</source>
        <translation>「%1」は 768x512 のような形式のサイズではありません(8 の倍数、64~4096)。</translation>
    </message>
    <message>
        <source>Add a model folder</source>
        <translation>モデルフォルダーを追加</translation>
    </message>
    <message>
        <source>Choose a folder for the generated images.</source>
        <translation>生成した画像を保存するフォルダーを選んでください。</translation>
    </message>
    <message>
        <source>Output folder</source>
        <translation>出力フォルダー</translation>
    </message>
    <message>
        <source>Automatic (NVIDIA GPU when present, else CPU)</source>
        <translation>自動(NVIDIA GPU があれば GPU、なければ CPU)</translation>
    </message>
    <message>
        <source>NVIDIA GPU (the first one)</source>
        <translation>NVIDIA GPU(1 枚目)</translation>
    </message>
    <message>
        <source>NVIDIA GPU 0</source>
        <translation>NVIDIA GPU 0</translation>
    </message>
    <message>
        <source>NVIDIA GPU 1</source>
        <translation>NVIDIA GPU 1</translation>
    </message>
    <message>
        <source>CPU (slow, uses no GPU memory)</source>
        <translation>CPU(遅いが GPU メモリを使わない)</translation>
    </message>
    <message>
        <source>Automatic (fp16 on the GPU, fp32 on the CPU)</source>
        <translation>自動(GPU では fp16、CPU では fp32)</translation>
    </message>
    <message>
        <source>fp16 — half precision</source>
        <translation>fp16 — 半精度</translation>
    </message>
    <message>
        <source>bf16 — bfloat16</source>
        <translation>bf16 — bfloat16</translation>
    </message>
    <message>
        <source>fp32 — full precision</source>
        <translation>fp32 — 単精度(フル精度)</translation>
    </message>
    <message>
        <source>Random for every generation</source>
        <translation>毎回ランダム</translation>
    </message>
    <message>
        <source>Fixed (the seed below)</source>
        <translation>固定(下のシード)</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>設定</translation>
    </message>
    <message>
        <source>GPU memory</source>
        <translation>GPU メモリ</translation>
    </message>
    <message>
        <source>Generation</source>
        <translation>生成</translation>
    </message>
    <message>
        <source>Models and output</source>
        <translation>モデルと出力</translation>
    </message>
    <message>
        <source>Services</source>
        <translation>サービス</translation>
    </message>
    <message>
        <source>Interface</source>
        <translation>インターフェース</translation>
    </message>
    <message>
        <source>TwistedPic shares the GPU with Ollama and other programs. These settings decide how much memory it keeps between images.</source>
        <translation>TwistedPic は GPU を Ollama やほかのプログラムと共有します。ここでは、画像と画像のあいだにどれだけのメモリを確保しておくかを決めます。</translation>
    </message>
    <message>
        <source>&amp;Free cached GPU memory after each image</source>
        <translation>画像ごとにキャッシュされた GPU メモリを解放する(&amp;F)</translation>
    </message>
    <message>
        <source>Returns the memory allocator&apos;s cache to the GPU after each image, so that Ollama and other programs can use it. Costs a few milliseconds; the next image allocates again. Turn it off only if nothing else uses this GPU.</source>
        <translation>画像を 1 枚作るたびにメモリアロケーターのキャッシュを GPU に返し、Ollama やほかのプログラムが使えるようにします。数ミリ秒かかり、次の画像ではメモリを確保し直します。この GPU をほかに何も使っていない場合にだけオフにしてください。</translation>
    </message>
    <message>
        <source>&amp;Unload the model to RAM after each image</source>
        <translation>画像ごとにモデルを RAM へアンロードする(&amp;U)</translation>
    </message>
    <message>
        <source>Moves the model&apos;s weights to (pinned) RAM after each image, so that the GPU holds only the CUDA context, about half a gigabyte. Reloading takes a fraction of a second for SD 1.5-sized models. Use it when a language model needs the whole card.</source>
        <translation>画像を 1 枚作るたびにモデルの重みを(ピン留めした)RAM へ移し、GPU には CUDA コンテキスト(約 0.5 GB)だけが残るようにします。SD 1.5 程度のモデルなら再読み込みは一瞬です。言語モデルが GPU 全体を必要とするときに使ってください。</translation>
    </message>
    <message>
        <source>Ask Ollama to make &amp;room before generating</source>
        <translation>生成前に Ollama に空きを作ってもらう(&amp;R)</translation>
    </message>
    <message>
        <source>When free GPU memory is short, ask Ollama to unload the models it is not using, so that neither program falls back to the much slower CPU.</source>
        <translation>空き GPU メモリが足りないとき、使っていないモデルをアンロードするよう Ollama に頼みます。どちらのプログラムもずっと遅い CPU に落ちずに済みます。</translation>
    </message>
    <message>
        <source>Unload when &amp;idle for:</source>
        <translation>アイドル時にアンロードするまで(&amp;I):</translation>
    </message>
    <message>
        <source> min</source>
        <translation> 分</translation>
    </message>
    <message>
        <source>Never</source>
        <translation>しない</translation>
    </message>
    <message>
        <source>Like Ollama&apos;s keep_alive: after this many minutes without a request the model moves to RAM.</source>
        <translation>Ollama の keep_alive と同じく、この分数のあいだ要求がなければモデルを RAM へ移します。</translation>
    </message>
    <message>
        <source>&amp;Device:</source>
        <translation>デバイス(&amp;D):</translation>
    </message>
    <message>
        <source>Where images are computed. A change takes effect with the next image.</source>
        <translation>画像を計算する場所です。変更は次の画像から有効になります。</translation>
    </message>
    <message>
        <source>&amp;Precision:</source>
        <translation>精度(&amp;P):</translation>
    </message>
    <message>
        <source>Half precision needs half the memory and is fastest on NVIDIA GPUs.</source>
        <translation>半精度はメモリが半分で済み、NVIDIA GPU では最も高速です。</translation>
    </message>
    <message>
        <source>&amp;Speed up denoising with CUDA graphs</source>
        <translation>CUDA グラフでノイズ除去を高速化する(&amp;S)</translation>
    </message>
    <message>
        <source>Records one denoising step on the GPU and replays it for every step.</source>
        <translation>ノイズ除去の 1 ステップを GPU 上で記録し、各ステップでそれを再生します。</translation>
    </message>
    <message>
        <source>The GPU replays a recorded step instead of waiting for hundreds of launches from the CPU: faster, the same images. The recorded step keeps about one step&apos;s working memory reserved; turn it off if GPU memory is very tight.</source>
        <translation>CPU からの数百回の起動を待つ代わりに、GPU が記録したステップを再生します。より速く、同じ画像になります。記録したステップは約 1 ステップ分の作業メモリを確保したままにします。GPU メモリが非常に少ない場合はオフにしてください。</translation>
    </message>
    <message>
        <source>Memory &amp;graph interval:</source>
        <translation>メモリグラフの間隔(&amp;G):</translation>
    </message>
    <message>
        <source> ms</source>
        <translation> ms</translation>
    </message>
    <message>
        <source>How often the GPU memory graph takes a sample.</source>
        <translation>GPU メモリグラフが値を取得する間隔です。</translation>
    </message>
    <message>
        <source>&amp;Steps:</source>
        <translation>ステップ数(&amp;S):</translation>
    </message>
    <message>
        <source>&amp;Guidance (CFG):</source>
        <translation>ガイダンス (CFG)(&amp;G):</translation>
    </message>
    <message>
        <source>&amp;Width:</source>
        <translation>幅(&amp;W):</translation>
    </message>
    <message>
        <source>&amp;Height:</source>
        <translation>高さ(&amp;H):</translation>
    </message>
    <message>
        <source> px</source>
        <translation> px</translation>
    </message>
    <message>
        <source>Size &amp;presets:</source>
        <translation>サイズのプリセット(&amp;P):</translation>
    </message>
    <message>
        <source>Offered in the size list of the main window, separated by commas, e.g. 512x512, 768x512.</source>
        <translation>メインウィンドウのサイズ一覧に表示されます。カンマ区切りで入力します(例: 512x512, 768x512)。</translation>
    </message>
    <message>
        <source>S&amp;ampler:</source>
        <translation>サンプラー(&amp;A):</translation>
    </message>
    <message>
        <source>Seed &amp;mode:</source>
        <translation>シードの扱い(&amp;M):</translation>
    </message>
    <message>
        <source>S&amp;eed:</source>
        <translation>シード(&amp;E):</translation>
    </message>
    <message>
        <source>Images per &amp;generation:</source>
        <translation>1 回あたりの枚数(&amp;G):</translation>
    </message>
    <message>
        <source>&amp;CLIP skip:</source>
        <translation>CLIP スキップ(&amp;C):</translation>
    </message>
    <message>
        <source>1 uses the text encoder&apos;s last layer; 2 the one before it, as some anime models expect.</source>
        <translation>1 はテキストエンコーダーの最終層を、2 はその一つ前の層を使います(一部のアニメ系モデルは 2 を想定しています)。</translation>
    </message>
    <message>
        <source>&amp;Negative prompt:</source>
        <translation>ネガティブプロンプト(&amp;N):</translation>
    </message>
    <message>
        <source>Model &amp;folders:</source>
        <translation>モデルフォルダー(&amp;F):</translation>
    </message>
    <message>
        <source>&amp;Add…</source>
        <translation>追加(&amp;A)…</translation>
    </message>
    <message>
        <source>&amp;Remove</source>
        <translation>削除(&amp;R)</translation>
    </message>
    <message>
        <source>Folders that hold diffusers model folders, in addition to the bundled model and the Hugging Face cache.</source>
        <translation>同梱のモデルと Hugging Face のキャッシュに加えて、diffusers 形式のモデルフォルダーを探すフォルダーです。</translation>
    </message>
    <message>
        <source>&amp;Default model:</source>
        <translation>既定のモデル(&amp;D):</translation>
    </message>
    <message>
        <source>the bundled model</source>
        <translation>同梱のモデル</translation>
    </message>
    <message>
        <source>&amp;Output folder:</source>
        <translation>出力フォルダー(&amp;O):</translation>
    </message>
    <message>
        <source>&amp;Browse…</source>
        <translation>参照(&amp;B)…</translation>
    </message>
    <message>
        <source>&amp;Ollama URL:</source>
        <translation>Ollama の URL(&amp;O):</translation>
    </message>
    <message>
        <source>The Ollama server that writes and refines prompts, and that is asked to make room on the GPU.</source>
        <translation>プロンプトを書いたり磨いたりし、GPU に空きを作るよう頼まれる Ollama サーバーです。</translation>
    </message>
    <message>
        <source>&amp;TwistedPair URL:</source>
        <translation>TwistedPair の URL(&amp;T):</translation>
    </message>
    <message>
        <source>The TwistedPair service that distorts prompts rhetorically.</source>
        <translation>プロンプトを修辞的にゆがめる TwistedPair サービスです。</translation>
    </message>
    <message>
        <source>TwistedPair &amp;timeout:</source>
        <translation>TwistedPair のタイムアウト(&amp;T):</translation>
    </message>
    <message>
        <source> s</source>
        <translation> 秒</translation>
    </message>
    <message>
        <source>&amp;Language:</source>
        <translation>言語(&amp;L):</translation>
    </message>
    <message>
        <source>Changes the interface at once, without a restart.</source>
        <translation>再起動せずに、すぐに表示が切り替わります。</translation>
    </message>
    <message>
        <source>&amp;Verbose logging</source>
        <translation>詳細なログ(&amp;V)</translation>
    </message>
    <message>
        <source>Writes debug detail to the log view and the log file; useful when reporting a problem.</source>
        <translation>デバッグ用の詳細をログ表示とログファイルに書き込みます。問題を報告するときに役立ちます。</translation>
    </message>
    <message>
        <source>Nothing was saved: correct the value marked in red.</source>
        <translation>何も保存されていません。赤で示した値を直してください。</translation>
    </message>
    <message>
        <source>Could not save the settings: %1</source>
        <translation>設定を保存できませんでした: %1</translation>
    </message>
    <message>
        <source>fp8 weights — half the memory of fp16/bf16 (libtorch 2.1+)</source>
        <translation>fp8 の重み — fp16/bf16 の半分のメモリ(libtorch 2.1 以降)</translation>
    </message>
    <message>
        <source>fp8 weights and matrix multiplication (Ada/Hopper GPUs, opt-in)</source>
        <translation>fp8 の重みと行列演算(Ada/Hopper 世代の GPU、自動では選ばれません)</translation>
    </message>
    <message>
        <source>GPU memory &amp;budget:</source>
        <translation>GPU メモリの予算(&amp;B):</translation>
    </message>
    <message>
        <source>What one image may use on the GPU: &quot;auto&quot; leaves what Ollama&apos;s loaded models still need and the reserve below free; &quot;all&quot; uses whatever is free; or a size such as 12GiB. A model larger than the budget runs with its text encoders and VAE on the GPU only while they work and its blocks streamed from RAM: slower, but within the budget.</source>
        <translation>1 枚の画像が GPU で使ってよい量です。「auto」は Ollama が読み込んだモデルがまだ必要とする分と下の予備を空けておきます。「all」は空いている分をすべて使います。12GiB のようにサイズを指定することもできます。予算より大きいモデルは、テキストエンコーダーと VAE を動作中だけ GPU に置き、ブロックを RAM からストリーミングして実行します。遅くなりますが、予算内に収まります。</translation>
    </message>
    <message>
        <source>R&amp;eserve for other programs:</source>
        <translation>ほかのプログラム用の予備(&amp;E):</translation>
    </message>
    <message>
        <source> MiB</source>
        <translation> MiB</translation>
    </message>
    <message>
        <source>With the automatic budget: GPU memory left free for the desktop and other programs.</source>
        <translation>予算が「auto」のとき、デスクトップやほかのプログラムのために空けておく GPU メモリです。</translation>
    </message>
</context>
<context>
    <name>tp::ui::Translation</name>
    <message>
        <source>System default</source>
        <translation>システムの既定</translation>
    </message>
</context>
<context>
    <name>tp::ui::Units</name>
    <message>
        <source>%1 GiB</source>
        <translation>%1 GiB</translation>
    </message>
    <message>
        <source>%1 MiB</source>
        <translation>%1 MiB</translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation>%1 秒</translation>
    </message>
    <message>
        <source>%1 min %2 s</source>
        <translation>%1 分 %2 秒</translation>
    </message>
</context>
<context>
    <name>tp::ui::VramGraph</name>
    <message>
        <source>%1 GiB</source>
        <translation>%1 GiB</translation>
    </message>
    <message>
        <source>%1 MiB</source>
        <translation>%1 MiB</translation>
    </message>
    <message>
        <source>now</source>
        <translation>現在</translation>
    </message>
    <message>
        <source>−%1 min</source>
        <translation>−%1 分</translation>
    </message>
    <message>
        <source>−%1 s</source>
        <translation>−%1 秒</translation>
    </message>
    <message>
        <source>GPU memory graph</source>
        <translation>GPU メモリのグラフ</translation>
    </message>
    <message>
        <source>%1 of %2 in use on %3</source>
        <translation>%3 で %2 中 %1 を使用中</translation>
    </message>
    <message>
        <source>Device used</source>
        <translation>デバイス使用量</translation>
    </message>
    <message>
        <source>Total</source>
        <translation>合計</translation>
    </message>
    <message>
        <source>TwistedPic reserved</source>
        <translation>TwistedPic 予約済み</translation>
    </message>
    <message>
        <source>TwistedPic allocated</source>
        <translation>TwistedPic 割り当て済み</translation>
    </message>
    <message>
        <source>Other processes</source>
        <translation>ほかのプロセス</translation>
    </message>
    <message>
        <source>Ollama</source>
        <translation>Ollama</translation>
    </message>
    <message>
        <source>Ollama (pid %1)</source>
        <translation>Ollama (PID %1)</translation>
    </message>
    <message>
        <source>Waiting for the first memory sample…</source>
        <translation>最初のメモリ値を待っています…</translation>
    </message>
    <message>
        <source>No NVIDIA GPU — running on CPU</source>
        <translation>NVIDIA GPU なし — CPU で実行中</translation>
    </message>
    <message>
        <source>%1 %2%3</source>
        <translation>%1 %2%3</translation>
    </message>
    <message>
        <source>start</source>
        <translation>開始</translation>
    </message>
    <message>
        <source>done</source>
        <translation>完了</translation>
    </message>
    <message>
        <source>cleanup</source>
        <translation>解放</translation>
    </message>
    <message>
        <source>unload</source>
        <translation>アンロード</translation>
    </message>
    <message>
        <source>reload</source>
        <translation>再読み込み</translation>
    </message>
    <message>
        <source>load</source>
        <translation>読み込み</translation>
    </message>
    <message>
        <source>out of memory</source>
        <translation>メモリ不足</translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <translation>%1 (%2)</translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <source>%1 (pid %2): %3</source>
        <translation>%1 (PID %2): %3</translation>
    </message>
    <message>
        <source>budget %1 ▲</source>
        <translation>予算 %1 ▲</translation>
    </message>
    <message>
        <source>budget %1</source>
        <translation>予算 %1</translation>
    </message>
    <message>
        <source>Budget: %1</source>
        <translation>予算: %1</translation>
    </message>
    <message>
        <source>Plan&apos;s predicted peak: %1</source>
        <translation>プランの予測ピーク: %1</translation>
    </message>
</context>
<context>
    <name>tp::ui::VramPanel</name>
    <message>
        <source>&amp;Window:</source>
        <translation>表示期間(&amp;W):</translation>
    </message>
    <message>
        <source>1 min</source>
        <translation>1 分</translation>
    </message>
    <message>
        <source>5 min</source>
        <translation>5 分</translation>
    </message>
    <message>
        <source>15 min</source>
        <translation>15 分</translation>
    </message>
    <message>
        <source>How much history the graph shows</source>
        <translation>グラフに表示する履歴の長さ</translation>
    </message>
    <message>
        <source>&amp;Free GPU memory now</source>
        <translation>GPU メモリを今すぐ解放(&amp;F)</translation>
    </message>
    <message>
        <source>Return the memory TwistedPic holds in its cache to the GPU, so that Ollama and other programs can use it. The model stays loaded.</source>
        <translation>TwistedPic がキャッシュに確保しているメモリを GPU に返し、Ollama やほかのプログラムが使えるようにします。モデルは読み込まれたままです。</translation>
    </message>
    <message>
        <source>&amp;Unload model now</source>
        <translation>モデルを今すぐアンロード(&amp;U)</translation>
    </message>
    <message>
        <source>Move the model&apos;s weights to RAM. The GPU then holds only the CUDA context; the next image reloads the model in a fraction of a second.</source>
        <translation>モデルの重みを RAM へ移します。GPU には CUDA コンテキストだけが残り、次の画像ではモデルを一瞬で再読み込みします。</translation>
    </message>
    <message>
        <source>Waiting for GPU memory figures…</source>
        <translation>GPU メモリの値を待っています…</translation>
    </message>
    <message>
        <source>No NVIDIA GPU — running on CPU</source>
        <translation>NVIDIA GPU なし — CPU で実行中</translation>
    </message>
    <message>
        <source>Loading the model…</source>
        <translation>モデルを読み込み中…</translation>
    </message>
    <message>
        <source>Reloading the model to the GPU…</source>
        <translation>モデルを GPU に再読み込み中…</translation>
    </message>
    <message>
        <source>Unloading the model to RAM…</source>
        <translation>モデルを RAM へアンロード中…</translation>
    </message>
    <message>
        <source>Freeing GPU memory…</source>
        <translation>GPU メモリを解放中…</translation>
    </message>
    <message>
        <source>Generating · %1 in use</source>
        <translation>生成中 · %1 使用中</translation>
    </message>
    <message>
        <source>Generating</source>
        <translation>生成中</translation>
    </message>
    <message>
        <source>Model on GPU · %1</source>
        <translation>モデルは GPU 上 · %1</translation>
    </message>
    <message>
        <source>Model on GPU</source>
        <translation>モデルは GPU 上</translation>
    </message>
    <message>
        <source>Model unloaded to RAM</source>
        <translation>モデルは RAM にアンロード済み</translation>
    </message>
    <message>
        <source>Idle — %1 reserved</source>
        <translation>待機中 — %1 を予約</translation>
    </message>
    <message>
        <source>Idle</source>
        <translation>待機中</translation>
    </message>
    <message>
        <source>%1 · %2 of %3 in use</source>
        <translation>%1 · %3 中 %2 を使用中</translation>
    </message>
    <message>
        <source> · TwistedPic holds %1</source>
        <translation> · TwistedPic が %1 を確保</translation>
    </message>
    <message>
        <source>Model on the CPU</source>
        <translation>モデルは CPU 上</translation>
    </message>
    <message>
        <source> · model %1</source>
        <translation> · モデル %1</translation>
    </message>
    <message>
        <source>Model partly on GPU · %1</source>
        <translation>モデルの一部は GPU 上 · %1</translation>
    </message>
    <message>
        <source>Model partly on GPU</source>
        <translation>モデルの一部は GPU 上</translation>
    </message>
    <message>
        <source>No plan yet: each generation on the GPU gets one that fits the VRAM budget.</source>
        <translation>プランはまだありません。GPU での生成ごとに、VRAM 予算に収まるプランが作られます。</translation>
    </message>
    <message>
        <source>No plan: the model runs on the CPU.</source>
        <translation>プランはありません。モデルは CPU で実行されます。</translation>
    </message>
    <message>
        <source>No plan: the budget is “all”, so the whole model stays on the GPU.</source>
        <translation>プランはありません。予算が「all」なので、モデル全体が GPU に置かれたままです。</translation>
    </message>
    <message>
        <source>No plan for the last generation: the whole model stayed on the GPU (the log says why).</source>
        <translation>前回の生成にはプランがありません。モデル全体が GPU に置かれたままでした(理由はログにあります)。</translation>
    </message>
    <message>
        <source>Budget %1 — %2</source>
        <translation>予算 %1 — %2</translation>
    </message>
    <message>
        <source>⚠ The plan does not fit the budget.</source>
        <translation>⚠ プランが予算に収まりません。</translation>
    </message>
    <message>
        <source>⚠ %1</source>
        <translation>⚠ %1</translation>
    </message>
    <message>
        <source>The budget is set in Settings → GPU memory (gpu/vramBudget): “auto” leaves room for Ollama and other programs, a size caps TwistedPic, “all” takes what is free.</source>
        <translation>予算は「設定」→「GPU メモリ」(gpu/vramBudget) で決めます。「auto」は Ollama やほかのプログラムのために空きを残し、サイズを指定すると TwistedPic の使用量をその値までに抑え、「all」は空いている分をすべて使います。</translation>
    </message>
    <message>
        <source>How the budget was reached: %1</source>
        <translation>予算の決まり方: %1</translation>
    </message>
    <message>
        <source>Predicted peak: %1 of the %2 budget (%3 of it kept free as headroom)</source>
        <translation>予測ピーク: 予算 %2 のうち %1(予算のうち %3 は余裕として空けてあります)</translation>
    </message>
    <message>
        <source>Streamed from RAM: %1 per denoiser call</source>
        <translation>RAM からストリーミング: ノイズ除去の呼び出し 1 回あたり %1</translation>
    </message>
    <message>
        <source>Lowered one step from the first plan after the GPU ran out of memory.</source>
        <translation>GPU のメモリが不足したため、最初のプランから 1 段階下げました。</translation>
    </message>
    <message>
        <source>Lowered %1 steps from the first plan after the GPU ran out of memory.</source>
        <translation>GPU のメモリが不足したため、最初のプランから %1 段階下げました。</translation>
    </message>
    <message>
        <source>The dashed line on the graph is the budget.</source>
        <translation>グラフの破線が予算です。</translation>
    </message>
</context>
<context>
    <name>tp::ui::ServicesPanel</name>
    <message>
        <source>%1% CPU / %2% GPU</source>
        <translation>%1% CPU / %2% GPU</translation>
    </message>
    <message>
        <source>100% GPU</source>
        <translation>100% GPU</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>不明</translation>
    </message>
    <message>
        <source>Stopped: %1</source>
        <translation>中止: %1</translation>
    </message>
    <message>
        <source>Checking %1 …</source>
        <translation>%1 を確認中…</translation>
    </message>
    <message>
        <source>Not answering at %1: %2</source>
        <translation>%1 から応答がありません: %2</translation>
    </message>
    <message>
        <source>Running (version %1) at %2; no model loaded.</source>
        <translation>%2 で動作中（バージョン %1）。読み込まれたモデルはありません。</translation>
    </message>
    <message>
        <source>Running (version %1) at %2. Loaded models:</source>
        <translation>%2 で動作中（バージョン %1）。読み込まれたモデル:</translation>
    </message>
    <message>
        <source>Running at %1.</source>
        <translation>%1 で動作中。</translation>
    </message>
    <message>
        <source>Ollama</source>
        <translation>Ollama</translation>
    </message>
    <message>
        <source>TwistedPair</source>
        <translation>TwistedPair</translation>
    </message>
    <message>
        <source>Loaded model</source>
        <translation>読み込まれたモデル</translation>
    </message>
    <message>
        <source>Runs on</source>
        <translation>実行場所</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>サイズ</translation>
    </message>
    <message>
        <source>Give the GPU back to Ollama</source>
        <translation>GPU を Ollama に返す</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>更新</translation>
    </message>
    <message>
        <source>Ask both services again now</source>
        <translation>両方のサービスに今すぐ再確認する</translation>
    </message>
</context>
<context>
    <name>tp::ui::PromptStagesDialog</name>
    <message>
        <source>Prompt stages</source>
        <translation>プロンプトの各段階</translation>
    </message>
    <message>
        <source>As typed:</source>
        <translation>入力どおり:</translation>
    </message>
    <message>
        <source>TwistedPair:</source>
        <translation>TwistedPair:</translation>
    </message>
    <message>
        <source>Ollama keywords:</source>
        <translation>Ollama のキーワード:</translation>
    </message>
    <message>
        <source>%1 failed (%2): %3</source>
        <translation>%1 が失敗しました（%2）: %3</translation>
    </message>
    <message>
        <source>&amp;Generate</source>
        <translation>生成(&amp;G)</translation>
    </message>
    <message>
        <source>&amp;Generate from this prompt</source>
        <translation>このプロンプトから生成(&amp;G)</translation>
    </message>
    <message>
        <source>Final prompt (you can edit it):</source>
        <translation>最終プロンプト（編集できます）:</translation>
    </message>
</context>
<context>
    <name>tp::ui::HelpViewer</name>
    <message>
        <source>TwistedPic help — %1</source>
        <translation>TwistedPic ヘルプ — %1</translation>
    </message>
</context>
<context>
    <name>tp::ui::FirstRunDialog</name>
    <message>
        <source>&amp;Import the original app&apos;s config.py…</source>
        <translation>元のアプリの config.py を取り込む(&amp;I)…</translation>
    </message>
    <message>
        <source>Coming from the Python original? Its settings are read from its config.py, never run</source>
        <translation>Python 版から移行しますか？ 設定は config.py から読み取るだけで、実行はしません</translation>
    </message>
    <message>
        <source>Welcome to TwistedPic</source>
        <translation>TwistedPic へようこそ</translation>
    </message>
    <message>
        <source>TwistedPic makes images with Stable Diffusion models on this computer and gives the GPU back to Ollama after every image. This is what it found:</source>
        <translation>TwistedPic はこのコンピューターで Stable Diffusion モデルを使って画像を生成し、画像ごとに GPU を Ollama に返します。見つかったもの:</translation>
    </message>
    <message>
        <source>Looking for a GPU…</source>
        <translation>GPU を探しています…</translation>
    </message>
    <message>
        <source>Checking…</source>
        <translation>確認中…</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>モデル</translation>
    </message>
    <message>
        <source>Family</source>
        <translation>系統</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>サイズ</translation>
    </message>
    <message>
        <source>Found in</source>
        <translation>場所</translation>
    </message>
    <message>
        <source>&amp;Free the GPU memory an image used, after every image</source>
        <translation>画像ごとに、使った GPU メモリを解放する(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Move the model to RAM after every image</source>
        <translation>画像ごとにモデルを RAM に移す(&amp;M)</translation>
    </message>
    <message>
        <source>The first switch costs a few milliseconds and keeps only the model on the GPU; leave it on. The second also moves the model to RAM, leaving the whole GPU to Ollama, and brings it back in a fraction of a second for the next image.</source>
        <translation>1 つ目のスイッチは数ミリ秒しかかからず、GPU にはモデルだけが残ります。オンのままにしてください。2 つ目はモデルも RAM に移して GPU 全体を Ollama に譲り、次の画像のために一瞬で戻します。</translation>
    </message>
    <message>
        <source>GPU:</source>
        <translation>GPU:</translation>
    </message>
    <message>
        <source>Ollama:</source>
        <translation>Ollama:</translation>
    </message>
    <message>
        <source>TwistedPair:</source>
        <translation>TwistedPair:</translation>
    </message>
    <message>
        <source>&amp;Start</source>
        <translation>開始(&amp;S)</translation>
    </message>
    <message>
        <source>Models:</source>
        <translation>モデル:</translation>
    </message>
    <message>
        <source>No NVIDIA GPU (%1): images are made on the CPU, more slowly.</source>
        <translation>NVIDIA GPU がありません（%1）。画像は CPU で、より遅く生成されます。</translation>
    </message>
    <message>
        <source>%1, %2 of %3 free</source>
        <translation>%1、%3 のうち %2 が空き</translation>
    </message>
    <message>
        <source>running (version %1) at %2, %3 model(s) installed</source>
        <translation>%2 で動作中（バージョン %1）、%3 個のモデルをインストール済み</translation>
    </message>
    <message>
        <source>not answering at %1: %2</source>
        <translation>%1 から応答がありません: %2</translation>
    </message>
    <message>
        <source>running at %1</source>
        <translation>%1 で動作中</translation>
    </message>
    <message>
        <source>%1 (not supported yet)</source>
        <translation>%1（未対応）</translation>
    </message>
    <message>
        <source>%1 (needs %2)</source>
        <translation>%1(%2 が必要)</translation>
    </message>
</context>
<context>
    <name>tp::ui::ImportOriginal</name>
    <message>
        <source>Import the original app&apos;s config.py</source>
        <translation>元のアプリの config.py を取り込む</translation>
    </message>
    <message>
        <source>Python files (*.py)</source>
        <translation>Python ファイル (*.py)</translation>
    </message>
    <message>
        <source>Import from the original</source>
        <translation>元のアプリから取り込む</translation>
    </message>
    <message>
        <source>%1 holds nothing that TwistedPic uses.</source>
        <translation>%1 には TwistedPic が使う設定がありません。</translation>
    </message>
    <message>
        <source>%1 setting(s) from %2 will change.</source>
        <translation>%2 の %1 個の設定が変更されます。</translation>
    </message>
    <message>
        <source>Ignored:</source>
        <translation>無視したもの:</translation>
    </message>
    <message>
        <source>&amp;Import</source>
        <translation>取り込む(&amp;I)</translation>
    </message>
    <message>
        <source>Nothing was saved: %1</source>
        <translation>何も保存されませんでした: %1</translation>
    </message>
</context>
<context>
    <name>tp::ui::AppWiring</name>
    <message>
        <source>Distorting the prompt with TwistedPair…</source>
        <translation>TwistedPair でプロンプトを変形しています…</translation>
    </message>
    <message>
        <source>Refining to visual keywords with Ollama…</source>
        <translation>Ollama で視覚的なキーワードに絞り込んでいます…</translation>
    </message>
    <message>
        <source>Making room on the GPU…</source>
        <translation>GPU に空きを作っています…</translation>
    </message>
    <message>
        <source>with %1</source>
        <translation>%1 と一緒に</translation>
    </message>
    <message>
        <source>%1 (%2) — needs %3</source>
        <translation>%1 (%2) — %3 が必要</translation>
    </message>
</context>
</TS>
